import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Affinity } from '../affinity/affinity.js';
import type { ErrorCode } from '../errors.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import { PoolAgents } from './agents.js';
import { deliverError, errorDelivery } from './error-response.js';
import type { Exchange } from './exchange.js';
import type { Guard } from '../guard.js';
import { ResponseHeaders, type ResponseHookContext } from '../hooks.js';
import { reportFinish } from './finish.js';
import { requestProtocol, responseHead } from './headers.js';
import type { OriginRewrite } from './passes/origin.js';
import type { RequestPass } from './passes/request.js';
import { badStatus, rewriteOriginBound, safeReason } from './passes/response.js';
import { isIdempotent, readBody, REPLAY_LIMIT } from './request-body.js';
import { TimeoutSweep, type Expiry } from './timeouts.js';
import { openUpstreamRequest, upstreamOf, type Upstream } from './upstream.js';

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

export interface ForwarderOptions {
  affinity: Affinity | undefined;
  passes: readonly RequestPass[];
  guard: Guard;
  /** The response header naming the request id, when ids are on. */
  requestIdHeader: string | undefined;
  /** The shortest timeout of any pool or route: the sweep runs often enough for it. */
  shortestTimeoutMs: number;
  /** Bodies held for retries across all requests at once, at most. */
  maxBufferedBytes: number;
}

/**
 * Moves bytes, and keeps only the socket state machine: attempt, retry, timeout, cut. What
 * happens to headers and bodies on the way is the request passes' and the response checks';
 * who is healthy is the pool's (each attempt's outcome is reported to it).
 *
 * HTTP requests are relayed here rather than through http-proxy's web(): measured on the same
 * machine, its passes (option merging, url.parse, two pipes, a setHeader per response header)
 * cost more CPU per request than all of the balancing.
 */
export class Forwarder {
  readonly #agents = new Map<Pool, PoolAgents>();
  readonly #upstreams = new WeakMap<Server, Upstream>();
  readonly #affinity: Affinity | undefined;
  readonly #passes: readonly RequestPass[];
  readonly #guard: Guard;
  readonly #requestIdHeader: string | undefined;
  readonly #timeouts: TimeoutSweep;
  readonly #maxBufferedBytes: number;
  #bufferedBytes = 0;
  readonly #onResponse: (this: TaggedClientRequest, proxyRes: IncomingMessage) => void;
  readonly #onRequestError: (this: TaggedClientRequest, error: NodeJS.ErrnoException) => void;
  readonly #onUpgrade: (this: TaggedClientRequest, proxyRes: IncomingMessage, socket: Socket) => void;
  readonly #onResponseClose: (this: UpstreamResponse) => void;
  readonly #onSocket: (this: TaggedClientRequest, socket: Socket) => void;

  constructor(pools: Iterable<Pool>, options: ForwarderOptions) {
    this.#affinity = options.affinity;
    this.#passes = options.passes;
    this.#guard = options.guard;
    this.#requestIdHeader = options.requestIdHeader;
    this.#maxBufferedBytes = options.maxBufferedBytes;
    for (const pool of pools) this.#agents.set(pool, new PoolAgents(pool.config));
    this.#timeouts = new TimeoutSweep([...this.#agents.keys()], options.shortestTimeoutMs, (exchange, expiry) => this.#expired(exchange, expiry));
    // the listeners below get their emitter as `this`, and reach the forwarder through this name
    const forwarder = this;
    this.#onResponse = function (proxyRes) {
      forwarder.#respond(this[kExchange], this, proxyRes);
    };
    this.#onRequestError = function (error) {
      forwarder.#failed(this[kExchange], this, error);
    };
    this.#onUpgrade = function (_proxyRes, socket) {
      // a 101 to a request that asked for no upgrade: nothing sensible can follow on this socket
      socket.destroy();
      forwarder.#badResponse(this[kExchange], this, 'an unrequested upgrade');
    };
    this.#onResponseClose = function () {
      // a server that resets or stalls mid-body: end the client's connection, never leave it hanging
      const exchange = this.req[kExchange];
      if (!this.complete && exchange.proxyReq === this.req) forwarder.#cut(exchange, exchange.timedOut ? 'timeout' : 'reset');
    };
    this.#onSocket = function (socket) {
      // the body waits for a connected socket, so that a refused connection can go elsewhere with it unread
      const exchange = this[kExchange];
      if (!socket.connecting) return forwarder.#sendBody(exchange, this);
      socket.once(exchange.server.target.protocol === 'https:' ? 'secureConnect' : 'connect', () => forwarder.#sendBody(exchange, this));
    };
  }

  /** The pool's keep-alive agent for a server (WebSockets reuse it). */
  agentFor(pool: Pool, server: Server) {
    return this.#agents.get(pool)!.for(server.target.protocol);
  }

  /**
   * Forward a request already counted in flight on `server`: run the request passes, read a
   * small idempotent body first so that a retry can resend it, then attempt.
   */
  forward(exchange: Exchange, server: Server): void {
    for (const pass of this.#passes) {
      const failed = pass.run(exchange);
      // a user's rewrite or hook failed: the request fails, the server is not to blame
      if (failed !== undefined) return this.#finish(exchange, 'aborted', failed);
    }
    const { req } = exchange;
    const length = Number(req.headers['content-length']);
    const replayable = exchange.body.kind === 'stream' && mayResend(exchange) && Number.isFinite(length) && length <= REPLAY_LIMIT;
    if (replayable && this.#bufferedBytes + length <= this.#maxBufferedBytes) {
      exchange.phase = 'buffering';
      exchange.bufferedBytes = length;
      this.#bufferedBytes += length;
      exchange.started = 0;
      exchange.clientMovedAt = performance.now();
      exchange.clientBytes = -1;
      readBody(req).then(
        (bytes) => {
          if (exchange.done) return;
          exchange.body = { kind: 'bytes', bytes };
          this.#attempt(exchange, server);
        },
        () => this.#finish(exchange, 'aborted'),
      );
      return;
    }
    this.#attempt(exchange, server);
  }

  /** The client's response closed: finished normally, or the client went away first. */
  closed(exchange: Exchange): void {
    if (exchange.done) return;
    if (exchange.res.writableFinished) return this.#finish(exchange, exchange.outcome);
    exchange.proxyReq?.destroy();
    this.#finish(exchange, 'aborted');
  }

  close(): void {
    this.#timeouts.close();
    for (const agents of this.#agents.values()) agents.destroy();
  }

  #attempt(exchange: Exchange, server: Server): void {
    if (!exchange.holding) exchange.hold(server);
    exchange.phase = 'sending';
    exchange.started = performance.now();
    exchange.timedOut = undefined;
    exchange.responded = false;
    exchange.clientMovedAt = exchange.serverMovedAt = exchange.started;
    exchange.clientBytes = exchange.serverBytes = -1;
    server.stats.started(exchange.now);
    const { req, body } = exchange;
    const proxyReq = openUpstreamRequest(this.#upstreamOf(exchange.pool, server), exchange.method, req.url!, req.headers, exchange.freshConnection) as TaggedClientRequest;
    proxyReq[kExchange] = exchange;
    exchange.proxyReq = proxyReq;
    proxyReq.on('response', this.#onResponse);
    proxyReq.on('error', this.#onRequestError);
    proxyReq.on('upgrade', this.#onUpgrade);
    if (body.kind === 'bytes') proxyReq.end(body.bytes);
    else if (body.kind === 'stream' && !req.readableEnded) proxyReq.once('socket', this.#onSocket);
    else proxyReq.end();
  }

  #sendBody(exchange: Exchange, proxyReq: ClientRequest): void {
    if (exchange.done || exchange.proxyReq !== proxyReq) return;
    const { req } = exchange;
    // from now on the body is on its way: this request can no longer move to another server
    exchange.body = { kind: 'consumed', reason: 'sent to a server' };
    // a client that goes away mid-upload errors its request; the response's close ends the exchange
    req.on('error', ignore);
    if (req.headers['content-length'] === undefined) req.on('data', (chunk: Buffer) => (exchange.chunkedBytesIn += chunk.length));
    req.pipe(proxyReq);
  }

  #upstreamOf(pool: Pool, server: Server): Upstream {
    let upstream = this.#upstreams.get(server);
    if (!upstream) {
      const agents = this.#agents.get(pool)!;
      upstream = upstreamOf(server, agents.for(server.target.protocol), agents.for(server.target.protocol, true), pool.config.changeOrigin);
      this.#upstreams.set(server, upstream);
    }
    return upstream;
  }

  /** The sweep found a request past one of its timeouts. */
  #expired(exchange: Exchange, expiry: Expiry): void {
    if (exchange.done) return;
    const { timeouts, retry } = exchange.policy;
    if (expiry === 'client') {
      // the client stalled: nothing useful can be sent to it, so close (HAProxy's `timeout client`)
      this.#cut(exchange, 'aborted');
      return;
    }
    exchange.timedOut = expiry;
    if (expiry === 'response' && exchange.responded) return this.#cut(exchange, 'timeout');
    const message = expiry === 'connect' ? `connect timeout after ${timeouts.connectMs} ms` : `no response for ${Math.min(timeouts.responseMs, retry.perTryTimeoutMs)} ms`;
    const { proxyReq } = exchange;
    // with a socket, the request's error takes the usual path, as a timeout
    if (proxyReq?.socket) return void proxyReq.destroy(new TimeoutError(message));
    // still waiting for a socket of our own agent: our limit, not the server's fault
    proxyReq?.destroy();
    this.#finish(exchange, 'aborted', 'QUEUE_TIMEOUT');
  }

  #respond(exchange: Exchange, proxyReq: ClientRequest, proxyRes: IncomingMessage): void {
    const { res } = exchange;
    if (exchange.done || res.destroyed || exchange.proxyReq !== proxyReq) {
      proxyRes.destroy();
      return;
    }
    const status = proxyRes.statusCode!;
    const problem = badStatus(status);
    if (problem !== undefined) return this.#badResponse(exchange, proxyReq, problem);
    if (exchange.policy.retry.statuses.has(status) && mayResend(exchange) && this.#retryStatus(exchange, proxyReq, proxyRes, status)) return;
    exchange.responded = true;
    exchange.status = status;
    exchange.phase = 'relaying';
    exchange.outcome = status >= 500 ? 'http5xx' : status >= 400 ? 'http4xx' : 'ok';
    // pinned to the server that answered, so that a retry re-pins where the session really went
    const { pool, req } = exchange;
    const setCookie = pool.config.sticky ? this.#affinity?.pin(req, pool, exchange.server, exchange.pinning, exchange.now, requestProtocol(req, exchange.peerTrusted) === 'https', exchange.cohortSession) : undefined;
    const head = responseHead(proxyRes.rawHeaders, setCookie === undefined ? undefined : ['Set-Cookie', setCookie]);
    exchange.firstByteAt = performance.now();
    if (head.originBound && pool.config.rewriteOrigin) rewriteOriginBound(head.headers, head.originBound, this.#originRewrite(exchange));
    if (exchange.requestId !== undefined) head.headers.push(this.#requestIdHeader!, exchange.requestId);
    const hooks = exchange.route.route.hooks.response;
    if (hooks.length > 0 && !this.#responseHooks(exchange, status, head.headers)) {
      proxyReq.destroy();
      return this.#finish(exchange, 'aborted', 'CALLBACK_FAILED');
    }
    try {
      writeHead(res, status, safeReason(status, proxyRes.statusMessage), head.headers);
    } catch {
      // a header Node will not write (the parser let it through): the response cannot be relayed as it is
      exchange.responded = false;
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      return this.#badResponse(exchange, proxyReq, 'headers that cannot be relayed');
    }
    // no 'error' listener: a response stream emits errors only to listeners, and a cut shows as an incomplete close
    proxyRes.on('close', this.#onResponseClose);
    proxyRes.on('data', relayChunk);
    proxyRes.on('end', endRelay); // the client response's own 'close' then ends the exchange
  }

  /**
   * The server answered with a status the policy retries: if another server may take the
   * request, drop this answer (nothing of it has reached the client) and retry; else relay it.
   */
  #retryStatus(exchange: Exchange, proxyReq: ClientRequest, proxyRes: IncomingMessage, status: number): boolean {
    if (!this.#nextServer(exchange)) return false;
    // drained rather than cut, so that the keep-alive socket goes back to the pool
    proxyRes.resume();
    exchange.proxyReq = undefined;
    exchange.status = status;
    exchange.responded = true;
    exchange.endAttempt(status >= 500 ? 'http5xx' : 'http4xx', performance.now());
    exchange.responded = false;
    return this.#retry(exchange, false);
  }

  /** The user's response hooks, each guarded: false when one threw (the response is not relayed). */
  #responseHooks(exchange: Exchange, status: number, headers: string[]): boolean {
    const context: ResponseHookContext = { req: exchange.req, status, headers: new ResponseHeaders(headers), pool: exchange.pool.name, server: exchange.server.id, requestId: exchange.requestId };
    const site = `routes[${exchange.route.route.index}].hooks.response`;
    for (const hook of exchange.route.route.hooks.response) {
      if (this.#guard.run(site, () => void hook(context), true)) return false;
    }
    return true;
  }

  /** From the server's origin and base path to the client's origin and the route's prefix. */
  #originRewrite(exchange: Exchange): OriginRewrite {
    const { req, server } = exchange;
    const upstream = this.#upstreamOf(exchange.pool, server);
    // the forwarded pass left the host the client used here (its own, or a trusted proxy's); Host may be the server's by now
    const forwardedHost = req.headers['x-forwarded-host'];
    const host = (typeof forwardedHost === 'string' && forwardedHost.split(',', 1)[0]!.trim()) || req.headers.host || '';
    return {
      serverOrigins: upstream.origins,
      serverHost: server.target.hostname.toLowerCase(),
      basePath: server.target.path,
      clientOrigin: `${requestProtocol(req, exchange.peerTrusted)}://${host}`,
      clientPrefix: exchange.route.stripped,
    };
  }

  /** The server's answer cannot be relayed: its socket never goes back to the pool, the client gets 502. */
  #badResponse(exchange: Exchange, proxyReq: ClientRequest, _why: string): void {
    if (exchange.done || exchange.proxyReq !== proxyReq) return;
    proxyReq.destroy();
    this.#finish(exchange, 'invalid', 'UPSTREAM_BAD_RESPONSE');
  }

  #failed(exchange: Exchange, proxyReq: ClientRequest, error: NodeJS.ErrnoException): void {
    if (exchange.done || proxyReq !== exchange.proxyReq) return;
    if (exchange.responded || exchange.res.headersSent) {
      // the head is out: a body that does not parse, a reset or a stall can only cut the connection
      this.#cut(exchange, exchange.timedOut ? 'timeout' : error.code?.startsWith('HPE_') ? 'invalid' : 'reset');
      return;
    }
    const { outcome, code } = classify(exchange, error);
    const timedOut = exchange.timedOut;
    const reusedSocketReset = outcome === 'reset' && proxyReq.reusedSocket === true && !exchange.freshConnection;
    exchange.endAttempt(outcome, performance.now());
    const { retry } = exchange.policy;
    // nothing was sent on a connection never made (a connect timeout included): any method may move
    const neverConnected = outcome === 'connect' || timedOut === 'connect';
    if (neverConnected && retry.connectFailure && this.#retry(exchange, false)) return;
    // a reused keep-alive socket the server had closed: not the server's failure, retried on a connection of its own
    if (reusedSocketReset && mayResend(exchange) && this.#retry(exchange, true)) return;
    if (!neverConnected && mayResend(exchange)) {
      if (outcome === 'reset' && retry.reset && this.#retry(exchange, false)) return;
      if (timedOut === 'response' && retry.timeout && this.#retry(exchange, false)) return;
    }
    this.#finish(exchange, outcome, code);
  }

  /**
   * Try another server, when the retry policy, the request and the budget allow: the caller has
   * checked that resending is safe (nothing sent, or an idempotent request with its body held).
   * Waits `backoffMs` (doubled each time, full jitter) first when the policy says so.
   */
  #retry(exchange: Exchange, fresh: boolean): boolean {
    const next = this.#nextServer(exchange);
    if (!next) return false;
    exchange.retriesLeft--;
    exchange.retries++;
    exchange.freshConnection = fresh;
    if (!exchange.retrying) {
      exchange.retrying = true;
      exchange.pool.countRetry(true);
    }
    const { backoffMs } = exchange.policy.retry;
    if (backoffMs <= 0) {
      exchange.hold(next);
      this.#attempt(exchange, next);
      return true;
    }
    const delay = Math.random() * backoffMs * 2 ** (exchange.retries - 1);
    exchange.phase = 'backoff';
    setTimeout(() => {
      if (exchange.done) return;
      // the server may have left meanwhile: choose again
      const server = exchange.pool.acceptsPinned(next, Date.now()) ? next : this.#nextServer(exchange);
      if (!server) return this.#finish(exchange, 'aborted', 'NO_ELIGIBLE_SERVER');
      exchange.hold(server);
      this.#attempt(exchange, server);
    }, delay).unref();
    return true;
  }

  /** Another server for a retry, leaving out those tried, or undefined when no retry may happen. */
  #nextServer(exchange: Exchange): Server | undefined {
    if (exchange.retriesLeft <= 0 || exchange.body.kind === 'consumed') return undefined;
    if (!exchange.retrying && !exchange.pool.retryAllowed(exchange.policy.retry.budgetPercent)) return undefined;
    exchange.exclude ??= new Set();
    exchange.exclude.add(exchange.server);
    const next = exchange.pool.choose(exchange);
    return next === undefined || next === 'full' ? undefined : next;
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
    if (exchange.retrying) exchange.pool.countRetry(false);
    if (exchange.bufferedBytes > 0) {
      this.#bufferedBytes -= exchange.bufferedBytes;
      exchange.bufferedBytes = 0;
    }
    exchange.endAttempt(outcome, performance.now());
    if (errorCode) {
      exchange.code = errorCode;
      const options = { retryAfterS: errorCode === 'QUEUE_TIMEOUT' ? exchange.pool.config.retryAfterS : undefined, requestId: this.#requestIdPair(exchange) };
      deliverError(errorDelivery(exchange), errorCode, options, this.#guard);
    }
    reportFinish(exchange, outcome, this.#guard);
  }

  #requestIdPair(exchange: Exchange): [string, string] | undefined {
    return exchange.requestId === undefined ? undefined : [this.#requestIdHeader!, exchange.requestId];
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

/** May this request be sent again after something reached a server? Idempotent methods, or any with an Idempotency-Key when the policy allows it. */
function mayResend(exchange: Exchange): boolean {
  if (exchange.body.kind === 'consumed') return false;
  if (isIdempotent(exchange.method)) return true;
  return exchange.policy.retry.idempotencyKey && exchange.req.headers['idempotency-key'] !== undefined;
}

function classify(exchange: Exchange, error: NodeJS.ErrnoException): { outcome: Outcome; code: ErrorCode } {
  if (exchange.timedOut === 'connect') return { outcome: 'timeout', code: 'UPSTREAM_CONNECT_TIMEOUT' };
  if (exchange.timedOut === 'response') return { outcome: 'timeout', code: 'UPSTREAM_RESPONSE_TIMEOUT' };
  const code = error.code ?? '';
  if (CONNECT_ERRORS.has(code)) return { outcome: 'connect', code: 'UPSTREAM_CONNECT_FAILED' };
  // the server's response did not parse: a bad status line, TE with CL, bad chunking, a header too big or with a NUL
  if (code.startsWith('HPE_')) return { outcome: 'invalid', code: 'UPSTREAM_BAD_RESPONSE' };
  // TLS failures (an untrusted certificate) also mean the request never reached the app
  if (!exchange.proxyReq?.socket || /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|SIGNATURE/i.test(code)) return { outcome: 'connect', code: 'UPSTREAM_CONNECT_FAILED' };
  return { outcome: 'reset', code: 'UPSTREAM_RESET' };
}
