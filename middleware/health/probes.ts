import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { describeAnswer, judgeAnswer, MAX_ANSWER_BYTES } from '../tcp/send-expect.js';
import type { HealthCheckConfig, TlsOptions } from '../options.js';
import type { Server } from '../pool/server.js';

/** The outcome of one probe: pass or fail, and why in a few words ("status 500", "ECONNREFUSED"). */
export interface ProbeResult {
  ok: boolean;
  reason: string;
}

/** One attempt against one server. Never rejects; an aborted probe resolves `{ ok: false, reason: 'aborted' }`. */
export type Probe = (signal?: AbortSignal) => Promise<ProbeResult>;

/** What a probe needs to know about a server. */
export type ProbeTarget = Pick<Server, 'id' | 'url' | 'target'>;

/** Enough of a health body to find a marker like "ok" without letting a huge page cost memory. */
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_REASON = 120;

type Settle = (ok: boolean, reason: string) => void;
/** Starts the work of one attempt and returns what tears it down (destroying sockets). */
type Start = (settle: Settle) => () => void;

/**
 * Build the probe for one server once (options, Host header, TLS), to run every interval.
 *
 * @example
 * const probe = createProbe(server, pool.config.healthCheck, pool.config.tls);
 * const { ok, reason } = await probe(); // { ok: false, reason: 'status 503' }
 */
export function createProbe(server: ProbeTarget, config: HealthCheckConfig, tls: TlsOptions): Probe {
  const start = config.type === 'tcp' ? tcpStart(server, config, tls) : config.type === 'http' ? httpStart(server, config, tls) : customStart(server, config);
  return (signal) => bounded(config.timeoutMs, signal, start);
}

/**
 * Passes when a connection opens (TLS completed for a tls:// server), or with `send`/`expect`,
 * when the answer to what was sent starts with (or matches) the expectation, as HAProxy's
 * `tcp-check send` / `tcp-check expect`: a server that accepts but answers wrongly fails.
 */
function tcpStart(server: ProbeTarget, config: HealthCheckConfig, tlsOptions: TlsOptions): Start {
  const secure = server.url.startsWith('tls:');
  const host = server.target.hostname;
  const options = { host, port: Number(server.target.port) };
  const { send, expect } = config;
  return (settle) => {
    const socket = secure ? tls.connect(secureOptions(host, options.port, tlsOptions)) : net.connect(options);
    let answer = Buffer.alloc(0);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      if (send) socket.write(send);
      if (expect === undefined) settle(true, 'connected');
    });
    if (expect !== undefined) {
      const judge = (final: boolean): void => {
        const verdict = judgeAnswer(expect, answer, final);
        if (verdict !== undefined) settle(verdict, verdict ? `answer matched ${String(typeof expect === 'string' ? JSON.stringify(expect) : expect)}` : `answer ${describeAnswer(answer)}, expected ${typeof expect === 'string' ? JSON.stringify(expect) : String(expect)}`);
      };
      socket.on('data', (chunk: Buffer) => {
        answer = Buffer.concat([answer, chunk]).subarray(0, MAX_ANSWER_BYTES);
        judge(false);
      });
      socket.once('end', () => judge(true));
    }
    socket.on('error', (error) => settle(false, networkReason(error)));
    return () => socket.destroy();
  };
}

function secureOptions(host: string, port: number, config: TlsOptions): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { host, port, rejectUnauthorized: config.rejectUnauthorized !== false };
  if (!net.isIP(host)) options.servername = host;
  if (config.ca !== undefined) options.ca = config.ca;
  return options;
}

/** HAProxy's `option httpchk` + `http-check expect`: a status in the expected set, and the body marker if any. */
function httpStart(server: ProbeTarget, config: HealthCheckConfig, tls: TlsOptions): Start {
  const { target } = server;
  const secure = target.protocol === 'https:';
  const options: https.RequestOptions = {
    host: target.hostname,
    port: Number(target.port),
    method: config.method,
    // a server URL with a base path (http://h/app) is checked under it, as requests are forwarded under it
    path: target.path + config.path,
    headers: { host: config.host ?? new URL(server.url).host, 'user-agent': 'switchyard-health-check', accept: '*/*' },
    // a fresh connection per probe: a pooled socket would prove nothing about accepting new ones
    agent: false,
  };
  if (secure) {
    options.rejectUnauthorized = tls.rejectUnauthorized !== false;
    if (tls.ca !== undefined) options.ca = tls.ca;
  }
  const request = secure ? https.request : http.request;
  const { expectStatus, expectBody } = config;
  return (settle) => {
    const req = request(options);
    req.on('error', (error) => settle(false, networkReason(error)));
    req.on('response', (res) => {
      res.on('error', (error) => settle(false, networkReason(error)));
      const status = res.statusCode ?? 0;
      if (!expectStatus(status)) return settle(false, `status ${status}`);
      if (expectBody === undefined) return settle(true, `ok ${status}`);
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = (): void => {
        const body = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
        settle(body.includes(expectBody), body.includes(expectBody) ? `ok ${status}` : `body lacks ${JSON.stringify(expectBody)}`);
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) judge();
      });
      res.on('end', judge);
    });
    req.end();
    return () => req.destroy();
  };
}

/**
 * The user's own check: truthy passes; false, a throw or a rejection fails. It gets an
 * AbortSignal that fires when the probe is given up (its timeout, or the server removed), so
 * that the work it started can stop too.
 */
function customStart(server: ProbeTarget, config: HealthCheckConfig): Start {
  const check = config.check;
  const info = Object.freeze({ id: server.id, url: server.url });
  return (settle) => {
    const controller = new AbortController();
    let answered = false;
    if (!check) {
      settle(false, 'no check function');
    } else {
      // on a microtask, so that a check throwing synchronously is caught like a rejection
      Promise.resolve()
        .then(() => check(info, { signal: controller.signal }))
        .then(
          (passed) => {
            answered = true;
            settle(Boolean(passed), passed ? 'check passed' : 'check returned false');
          },
          (error: unknown) => {
            answered = true;
            settle(false, short(error instanceof Error ? error.message || error.name : String(error)));
          },
        );
    }
    // a check that has not answered is given up: tell it, so it can stop what it started
    return () => {
      if (!answered) controller.abort(new Error(`health check given up after ${config.timeoutMs} ms`));
    };
  };
}

/**
 * Run one attempt under a deadline and an abort signal. The first settle wins; then the
 * attempt's sockets are torn down, so that no timeout, abort or result leaves one open.
 */
function bounded(timeoutMs: number, signal: AbortSignal | undefined, start: Start): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let teardown: (() => void) | undefined;
    const onAbort = (): void => settle(false, 'aborted');
    const settle: Settle = (ok, reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      teardown?.();
      resolve({ ok, reason });
    };
    const timer = setTimeout(() => settle(false, `timeout after ${timeoutMs} ms`), timeoutMs);
    // a probe alone must not keep a process alive that has closed its balancer
    timer.unref();
    if (signal?.aborted) return settle(false, 'aborted');
    signal?.addEventListener('abort', onAbort);
    try {
      teardown = start(settle);
    } catch (error) {
      settle(false, networkReason(error));
    }
    // settled while starting (a synchronous error): the teardown was not known yet
    if (settled) teardown?.();
  });
}

/** Socket errors say most in their code: ECONNREFUSED, ECONNRESET, DEPTH_ZERO_SELF_SIGNED_CERT. */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return short(String(error));
  const code = (error as NodeJS.ErrnoException).code;
  return short(typeof code === 'string' && code !== '' ? code : error.message);
}

function short(reason: string): string {
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}
