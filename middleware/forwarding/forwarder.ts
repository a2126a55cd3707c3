import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Affinity } from '../affinity/affinity.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import { PoolAgents } from './agents.js';
import { sendError } from './error-response.js';
import { Exchange } from './exchange.js';
import { responseHead } from './headers.js';
import { TimeoutSweep, type Expiry } from './timeouts.js';
import { hasBody, isIdempotent, parsedBodyBytes, readBody, shouldBufferForRetry } from './request-body.js';

/**
 * How http-proxy's events find their exchange. Never a property on the client's `req`:
 * Express has swapped its prototype, and a property added after that turns it into a slow
 * dictionary object for every later read, Express's and Node's included. So the exchange
 * rides in the per-attempt options (which 'proxyReq' receives), then on the ClientRequest
 * (which the response points back to).
 */
const kExchange = Symbol('switchyard.exchange');
type AttemptOptions = httpProxy.ServerOptions & { exchange: Exchange };
type TaggedClientRequest = ClientRequest & { [kExchange]?: Exchange };

/** Connection errors that mean the server never got the request: safe to try another. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

const ignore = () => {};

class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * Moves bytes: one http-proxy server for the balancer, one keep-alive agent per pool.
 * Never decides who is healthy; it reports each attempt's outcome to the pool.
 */
export class Forwarder {
  readonly #proxy: httpProxy;
  readonly #agents = new Map<Pool, PoolAgents>();
  readonly #options = new WeakMap<Server, httpProxy.ServerOptions>();
  readonly #logger: Logger;
  readonly #affinity: Affinity | undefined;
  readonly #timeouts: TimeoutSweep;

  constructor(pools: Iterable<Pool>, { logger, affinity }: { logger: Logger; affinity: Affinity | undefined }) {
    this.#logger = logger;
    this.#affinity = affinity;
    for (const pool of pools) this.#agents.set(pool, new PoolAgents(pool.config));
    this.#timeouts = new TimeoutSweep([...this.#agents.keys()], (exchange, expiry) => this.#expired(exchange, expiry));
    this.#proxy = httpProxy.createProxyServer({ selfHandleResponse: true, xfwd: false });
    this.#proxy.on('proxyReq', (proxyReq, req, res, options) => {
      const exchange = (options as AttemptOptions).exchange;
      (proxyReq as TaggedClientRequest)[kExchange] = exchange;
      this.#connected(exchange, proxyReq);
    });
    this.#proxy.on('proxyRes', (proxyRes) => {
      const exchange = ((proxyRes as IncomingMessage & { req?: TaggedClientRequest }).req)?.[kExchange];
      if (exchange) this.#respond(exchange, proxyRes);
    });
    // every web() call passes its own callback; this only guards against a crash
    this.#proxy.on('error', (error) => this.#logger.error('unexpected proxy error', { error: error.message }));
  }

  /** The pool's agent for a protocol (WebSockets reuse it). */
  agentFor(pool: Pool, server: Server) {
    return this.#agents.get(pool)!.for(server.target.protocol);
  }

  /** The raw http-proxy server, for WebSocket upgrades. */
  get proxy(): httpProxy {
    return this.#proxy;
  }

  /** Forward a routed request to `server`; retries, timeouts and error responses happen here. */
  forward(exchange: Exchange, server: Server): void {
    const { req, res } = exchange;
    res.on('close', () => this.#closed(exchange));
    exchange.body = parsedBodyBytes(req);
    if (exchange.body === undefined && shouldBufferForRetry(req)) {
      readBody(req).then(
        (body) => {
          exchange.body = body;
          if (!exchange.done) this.#attempt(exchange, server);
        },
        () => this.#finish(exchange, 'aborted'),
      );
      return;
    }
    this.#attempt(exchange, server);
  }

  close(): void {
    this.#timeouts.close();
    for (const agents of this.#agents.values()) agents.destroy();
    this.#proxy.close();
  }

  #attempt(exchange: Exchange, server: Server): void {
    const attempt = ++exchange.attempt;
    exchange.server = server;
    exchange.started = performance.now();
    exchange.proxyReq = undefined;
    exchange.timedOut = undefined;
    exchange.clientMovedAt = exchange.serverMovedAt = exchange.started;
    exchange.attemptOpen = true;
    exchange.pool.acquire(server, exchange);
    server.stats.started(exchange.now);
    const base = this.#optionsFor(exchange.pool, server);
    const options: AttemptOptions = { target: base.target!, agent: base.agent, changeOrigin: base.changeOrigin!, secure: base.secure!, exchange };
    if (exchange.body !== undefined) {
      // a fresh stream per attempt, with the length the bytes really have
      exchange.req.headers['content-length'] = String(exchange.body.length);
      delete exchange.req.headers['transfer-encoding'];
      options.buffer = Readable.from([exchange.body]);
    }
    this.#proxy.web(exchange.req, exchange.res, options, (error) => this.#failed(exchange, attempt, error as NodeJS.ErrnoException));
  }

  #optionsFor(pool: Pool, server: Server): httpProxy.ServerOptions {
    let options = this.#options.get(server);
    if (!options) {
      const { config } = pool;
      options = {
        target: server.target as unknown as httpProxy.ProxyTargetUrl,
        agent: this.agentFor(pool, server),
        changeOrigin: config.changeOrigin,
        secure: config.tls.rejectUnauthorized !== false,
      };
      this.#options.set(server, options);
    }
    return options;
  }

  /** The request has a socket to the server (its timeouts are the sweep's: see timeouts.ts). */
  #connected(exchange: Exchange, proxyReq: ClientRequest): void {
    exchange.proxyReq = proxyReq;
    if (exchange.done) proxyReq.destroy();
  }

  /** The sweep found a request past one of its timeouts. */
  #expired(exchange: Exchange, expiry: Expiry): void {
    if (exchange.done) return;
    const { timeouts } = exchange.pool.config;
    if (expiry === 'client') {
      // the client stalled: nothing useful can be sent to it, so close (HAProxy's `timeout client`)
      this.#cut(exchange, 'aborted');
      return;
    }
    exchange.timedOut = expiry;
    if (expiry === 'response' && exchange.responded) return this.#cut(exchange, 'timeout');
    const message = expiry === 'connect' ? `connect timeout after ${timeouts.connectMs} ms` : `no response for ${timeouts.responseMs} ms`;
    // with a socket, its error takes the usual path; still queued for one, answer now
    if (exchange.proxyReq) exchange.proxyReq.destroy(new TimeoutError(message));
    else this.#finish(exchange, 'timeout', 'UPSTREAM_CONNECT_TIMEOUT');
  }

  #respond(exchange: Exchange, proxyRes: IncomingMessage): void {
    const { res } = exchange;
    if (exchange.done || res.destroyed) {
      proxyRes.destroy();
      return;
    }
    exchange.responded = true;
    const status = proxyRes.statusCode ?? 502;
    exchange.outcome = status >= 500 ? 'http5xx' : status >= 400 ? 'http4xx' : 'ok';
    // pinned to the server that answered, so that a retry re-pins where the session really went
    const setCookie = exchange.pool.config.sticky ? this.#affinity?.pin(exchange.req, exchange.pool, exchange.server, exchange.pinning, exchange.now) : undefined;
    const head = responseHead(proxyRes.rawHeaders, setCookie === undefined ? undefined : ['Set-Cookie', setCookie]);
    writeHead(res, status, proxyRes.statusMessage, head.headers);
    if (head.contentLength >= 0) exchange.bytesOut = head.contentLength;
    else proxyRes.on('data', (chunk: Buffer) => (exchange.bytesOut += chunk.length));
    // the error is seen again as an incomplete close just below
    proxyRes.on('error', ignore);
    // a server that resets or stalls mid-body: end the client's connection, never leave it hanging
    proxyRes.on('close', () => {
      if (!proxyRes.complete) this.#cut(exchange, exchange.timedOut ? 'timeout' : 'reset');
    });
    proxyRes.pipe(res); // the response's own 'close' ends the exchange
  }

  #failed(exchange: Exchange, attempt: number, error: NodeJS.ErrnoException): void {
    if (exchange.done || attempt !== exchange.attempt) return;
    if (exchange.responded || exchange.res.headersSent) {
      this.#cut(exchange, exchange.timedOut ? 'timeout' : 'reset');
      return;
    }
    const { outcome, code } = classify(exchange, error);
    const reusedSocketReset = outcome === 'reset' && exchange.proxyReq?.reusedSocket === true;
    exchange.endAttempt(outcome, performance.now());
    if ((outcome === 'connect' || reusedSocketReset) && this.#retry(exchange)) return;
    this.#finish(exchange, outcome, code);
  }

  /** Try another server after a refused connection, when resending the request is safe. */
  #retry(exchange: Exchange): boolean {
    if (exchange.retriesLeft <= 0) return false;
    const safe = !hasBody(exchange.req) || (isIdempotent(exchange.method) && exchange.body !== undefined) || exchange.body?.length === 0;
    if (!safe) return false;
    exchange.tried ??= new Set();
    exchange.tried.add(exchange.server);
    const next = exchange.pool.pick(exchange, exchange.tried);
    if (!next) return false;
    exchange.retriesLeft--;
    this.#attempt(exchange, next);
    return true;
  }

  /** The client's response closed: finished normally, or the client went away first. */
  #closed(exchange: Exchange): void {
    if (exchange.done) return;
    if (exchange.res.writableFinished) return this.#finish(exchange, exchange.outcome);
    exchange.proxyReq?.destroy();
    this.#finish(exchange, 'aborted');
  }

  /** End a response already under way: headers are sent, so the only honest signal is a closed connection. */
  #cut(exchange: Exchange, outcome: Outcome): void {
    if (exchange.done) return;
    exchange.proxyReq?.destroy();
    exchange.res.destroy();
    this.#finish(exchange, outcome);
  }

  #finish(exchange: Exchange, outcome: Outcome, errorCode?: ErrorCode): void {
    if (exchange.done) return;
    exchange.done = true;
    exchange.endAttempt(outcome, performance.now());
    if (errorCode) sendError(exchange.req, exchange.res, errorCode);
  }
}

/**
 * `res.writeHead` with a flat header list. When headers were set before (Express sets
 * X-Powered-By), Node merges the list with setHeader, keeping only the last of a repeated
 * name (two Set-Cookie become one): then merge with appendHeader instead.
 */
function writeHead(res: ServerResponse, status: number, message: string | undefined, headers: string[]): void {
  if (res.getHeaderNames().length === 0) {
    res.writeHead(status, message, headers);
    return;
  }
  for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i]!);
  for (let i = 0; i < headers.length; i += 2) res.appendHeader(headers[i]!, headers[i + 1]!);
  res.writeHead(status, message);
}

function classify(exchange: Exchange, error: NodeJS.ErrnoException): { outcome: Outcome; code: ErrorCode } {
  if (exchange.timedOut === 'connect') return { outcome: 'timeout', code: 'UPSTREAM_CONNECT_TIMEOUT' };
  if (exchange.timedOut === 'response') return { outcome: 'timeout', code: 'UPSTREAM_RESPONSE_TIMEOUT' };
  if (error.code && CONNECT_ERRORS.has(error.code)) return { outcome: 'connect', code: 'UPSTREAM_CONNECT_FAILED' };
  // TLS failures (an untrusted certificate) also mean the request never reached the app
  if (exchange.proxyReq === undefined || /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|SIGNATURE/i.test(error.code ?? '')) return { outcome: 'connect', code: 'UPSTREAM_CONNECT_FAILED' };
  return { outcome: 'reset', code: 'UPSTREAM_RESET' };
}
