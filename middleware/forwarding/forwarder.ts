import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
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
import { openUpstreamRequest, upstreamOf, type Upstream } from './upstream.js';
import { addSetCookieOnUpgrade, type TunnelOptions } from './websocket.js';

/**
 * How the server's request and response find their exchange: a property on the ClientRequest,
 * which is ours. Never one on the client's `req` or `res`: Express has swapped their prototypes,
 * and a property added after that turns them into slow dictionary objects for every later read.
 * Listeners are shared functions reading it, so a request allocates no closures for them.
 */
const kExchange = Symbol('switchyard.exchange');
type TaggedClientRequest = ClientRequest & { [kExchange]: Exchange };
type UpstreamResponse = IncomingMessage & { req: TaggedClientRequest };

/** Connection errors that mean the server never got the request: safe to try another. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

const ignore = () => {};

class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * Moves bytes: one keep-alive agent per pool, requests on node:http. Never decides who is
 * healthy; it reports each attempt's outcome to the pool.
 *
 * HTTP requests are relayed here rather than through http-proxy's web(): measured on the same
 * machine, its passes (option merging, url.parse, two pipes, a setHeader per response header)
 * cost more CPU per request than all of the balancing. WebSocket upgrades, where http-proxy's
 * handshake and socket plumbing earn their keep, still go through its ws().
 */
export class Forwarder {
  readonly #proxy: httpProxy;
  readonly #agents = new Map<Pool, PoolAgents>();
  readonly #upstreams = new WeakMap<Server, Upstream>();
  readonly #logger: Logger;
  readonly #affinity: Affinity | undefined;
  readonly #timeouts: TimeoutSweep;
  readonly #onResponse: (this: TaggedClientRequest, proxyRes: IncomingMessage) => void;
  readonly #onRequestError: (this: TaggedClientRequest, error: NodeJS.ErrnoException) => void;
  readonly #onResponseClose: (this: UpstreamResponse) => void;

  constructor(pools: Iterable<Pool>, { logger, affinity }: { logger: Logger; affinity: Affinity | undefined }) {
    this.#logger = logger;
    this.#affinity = affinity;
    for (const pool of pools) this.#agents.set(pool, new PoolAgents(pool.config));
    this.#timeouts = new TimeoutSweep([...this.#agents.keys()], (exchange, expiry) => this.#expired(exchange, expiry));
    this.#proxy = httpProxy.createProxyServer({ xfwd: false });
    // every ws() call passes its own callback; this only guards against a crash
    this.#proxy.on('error', (error) => this.#logger.error('unexpected proxy error', { error: error.message }));
    // http-proxy adds its own 'upgrade' listener just after this event, so ours runs first
    this.#proxy.on('proxyReqWs', (proxyReq, _req, _socket, options) => {
      const { setCookie } = options as TunnelOptions;
      if (setCookie !== undefined) addSetCookieOnUpgrade(proxyReq, setCookie);
    });
    // the listeners below get their emitter as `this`, and reach the forwarder through this name
    const forwarder = this;
    this.#onResponse = function (proxyRes) {
      forwarder.#respond(this[kExchange], this, proxyRes);
    };
    this.#onRequestError = function (error) {
      forwarder.#failed(this[kExchange], this, error);
    };
    this.#onResponseClose = function () {
      // a server that resets or stalls mid-body: end the client's connection, never leave it hanging
      const exchange = this.req[kExchange];
      if (!this.complete && exchange.proxyReq === this.req) forwarder.#cut(exchange, exchange.timedOut ? 'timeout' : 'reset');
    };
  }

  /** The pool's agent for a protocol (WebSockets reuse it). */
  agentFor(pool: Pool, server: Server) {
    return this.#agents.get(pool)!.for(server.target.protocol);
  }

  /** The http-proxy server, for WebSocket upgrades. */
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
    exchange.server = server;
    exchange.started = performance.now();
    exchange.timedOut = undefined;
    exchange.clientMovedAt = exchange.serverMovedAt = exchange.started;
    exchange.attemptOpen = true;
    exchange.pool.acquire(server, exchange);
    server.stats.started(exchange.now);
    const { req, body } = exchange;
    if (body !== undefined) {
      // resent whole on each attempt, with the length the bytes really have
      req.headers['content-length'] = String(body.length);
      if (req.headers['transfer-encoding'] !== undefined) delete req.headers['transfer-encoding'];
    }
    const proxyReq = openUpstreamRequest(this.#upstreamOf(exchange.pool, server), exchange.method, req.url!, req.headers) as TaggedClientRequest;
    proxyReq[kExchange] = exchange;
    exchange.proxyReq = proxyReq;
    proxyReq.on('response', this.#onResponse);
    proxyReq.on('error', this.#onRequestError);
    if (body !== undefined) proxyReq.end(body);
    else if (hasBody(req) && !req.readableEnded) {
      // a client that goes away mid-upload errors its request; the response's close ends the exchange
      req.on('error', ignore);
      if (req.headers['content-length'] === undefined) req.on('data', (chunk: Buffer) => (exchange.chunkedBytesIn += chunk.length));
      req.pipe(proxyReq);
    } else proxyReq.end();
  }

  #upstreamOf(pool: Pool, server: Server): Upstream {
    let upstream = this.#upstreams.get(server);
    if (!upstream) {
      upstream = upstreamOf(server, this.agentFor(pool, server), pool.config.changeOrigin);
      this.#upstreams.set(server, upstream);
    }
    return upstream;
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
    const { proxyReq } = exchange;
    // with a socket, the request's error takes the usual path, as a timeout
    if (proxyReq?.socket) return void proxyReq.destroy(new TimeoutError(message));
    // still queued for a pooled socket: it would only error once it got one, so answer now
    proxyReq?.destroy();
    this.#finish(exchange, 'timeout', 'UPSTREAM_CONNECT_TIMEOUT');
  }

  #respond(exchange: Exchange, proxyReq: ClientRequest, proxyRes: IncomingMessage): void {
    const { res } = exchange;
    if (exchange.done || res.destroyed || exchange.proxyReq !== proxyReq) {
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
    // no 'error' listener: a response stream emits errors only to listeners, and a cut shows as an incomplete close
    proxyRes.on('close', this.#onResponseClose);
    proxyRes.on('data', relayChunk);
    proxyRes.on('end', endRelay); // the client response's own 'close' then ends the exchange
  }

  #failed(exchange: Exchange, proxyReq: ClientRequest, error: NodeJS.ErrnoException): void {
    if (exchange.done || proxyReq !== exchange.proxyReq) return;
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

/** Relay one chunk of the server's body to the client, pausing while the client's buffer is full. */
function relayChunk(this: UpstreamResponse, chunk: Buffer): void {
  const exchange = this.req[kExchange];
  exchange.bytesOut += chunk.length;
  if (!exchange.res.write(chunk)) {
    this.pause();
    exchange.res.once('drain', () => this.resume());
  }
}

function endRelay(this: UpstreamResponse): void {
  this.req[kExchange].res.end();
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
  if (!exchange.proxyReq?.socket || /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|SIGNATURE/i.test(error.code ?? '')) return { outcome: 'connect', code: 'UPSTREAM_CONNECT_FAILED' };
  return { outcome: 'reset', code: 'UPSTREAM_RESET' };
}
