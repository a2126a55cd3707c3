import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { expressAdapter, type ConnectMiddleware } from './adapters/express.js';
import { Affinity, type Pinning } from './affinity/affinity.js';
import { koaAdapter, type KoaMiddleware } from './adapters/koa.js';
import { wrapAdapter, type RequestHandler } from './adapters/wrap.js';
import type { PickContext } from './algorithms/algorithm.js';
import { ControlError } from './errors.js';
import { sendError } from './forwarding/error-response.js';
import { createPoolHealth } from './health/index.js';
import { Exchange } from './forwarding/exchange.js';
import { Forwarder } from './forwarding/forwarder.js';
import { clientAddress, dropHopByHopRequestHeaders, peerAddress, setForwardedHeaders } from './forwarding/headers.js';
import { refuse, tunnel } from './forwarding/websocket.js';
import type { BalancerConfig } from './options.js';
import type { ChangeEvent, DrainResult } from './pool/events.js';
import { Pool, type PoolSnapshot } from './pool/pool.js';
import { compileRoutes, type RouteMatch } from './routing/routes.js';

/** The control surface of one pool, as `balancer.pool(name)` returns it. */
export type PoolControl = Pick<Pool, 'name' | 'setWeight' | 'enable' | 'disable' | 'drain' | 'addServer' | 'removeServer' | 'snapshot'>;

export interface BalancerSnapshot {
  at: number;
  pools: Record<string, PoolSnapshot>;
}

export interface BalancerEvents {
  change: [ChangeEvent];
}

/**
 * Owns the pools and wires a request's way: routing → affinity → pick → forwarding.
 * Emits `change` for every admin state, health and weight change.
 */
export class Balancer extends EventEmitter<BalancerEvents> {
  readonly config: BalancerConfig;
  readonly #pools = new Map<string, Pool>();
  readonly #match: (req: IncomingMessage) => RouteMatch | undefined;
  readonly #forwarder: Forwarder;
  readonly #affinity: Affinity | undefined;
  #closing: Promise<void> | undefined;

  constructor(config: BalancerConfig) {
    super();
    this.config = config;
    for (const poolConfig of config.pools) {
      const pool = new Pool(poolConfig, (event) => this.emit('change', event));
      const health = createPoolHealth(pool, config.logger);
      if (health) pool.useHealth(health);
      this.#pools.set(poolConfig.name, pool);
    }
    this.#match = compileRoutes(config.routes, { caseSensitive: config.caseSensitive });
    this.#affinity = config.sticky
      ? new Affinity(config.sticky, { trustProxy: config.trustProxy, logger: config.logger, pools: this.#pools.values() })
      : undefined;
    this.#forwarder = new Forwarder(this.#pools.values(), { logger: config.logger, affinity: this.#affinity });
  }

  /**
   * Proxy a request if a route matches, else call `next()` with the request untouched
   * (its body unread). `next` is only ever called synchronously, which the Koa adapter relies
   * on. The adapters below are thin shells around this.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const match = this.#closing ? undefined : this.#match(req);
    if (!match) return next();
    const pool = this.#pools.get(match.pool)!;
    const peer = peerAddress(req);
    const exchange = new Exchange(req, res, pool, match.path, peer, clientAddress(req, this.config.trustProxy, peer), Date.now());
    const found = pool.config.sticky ? this.#affinity?.lookup(req, pool, exchange.now) : undefined;
    if (found instanceof Promise) found.then((pinning) => this.#dispatch(exchange, match, pinning));
    else this.#dispatch(exchange, match, found);
  }

  /** Choose the server (the pinned one if it still takes pinned requests) and forward. */
  #dispatch(exchange: Exchange, match: RouteMatch, pinning: Pinning | undefined): void {
    const { req, res, pool } = exchange;
    if (res.destroyed) return; // the client left while the affinity store answered
    exchange.pinning = pinning;
    const server = pinning?.server ?? pool.pick(exchange);
    if (!server) return sendError(req, res, 'NO_ELIGIBLE_SERVER', pool.config.retryAfterS);
    req.url = match.upstreamUrl;
    dropHopByHopRequestHeaders(req.headers);
    // Node already answered 100-continue to the client. (Delete only what is there: a delete
    // turns the headers object into a slow dictionary for every later read.)
    if (req.headers.expect !== undefined) delete req.headers.expect;
    this.#stripAffinityCookie(req, pool);
    setForwardedHeaders(req, this.config.trustProxy, exchange.peerAddress);
    this.#forwarder.forward(exchange, server);
  }

  /** Servers never see the affinity cookie, unless the pool asks for it. */
  #stripAffinityCookie(req: IncomingMessage, pool: Pool): void {
    if (!this.#affinity || !pool.config.sticky) return;
    const cookie = this.#affinity.forwardedCookieHeader(pool, req.headers.cookie);
    if (cookie === undefined) delete req.headers.cookie;
    else req.headers.cookie = cookie;
  }

  /** Express and any connect-style app: `app.use(balancer.express())`. */
  express(): ConnectMiddleware {
    return expressAdapter(this);
  }

  /** Koa: `app.use(balancer.koa())`. */
  koa(): KoaMiddleware {
    return koaAdapter(this);
  }

  /**
   * The fast path: `http.createServer(balancer.wrap(app))`. Routed requests are proxied before
   * any framework sees them; the rest go to `app` (an Express app or Koa's `app.callback()`).
   */
  wrap(app: RequestHandler): RequestHandler {
    return wrapAdapter(this, app);
  }

  /** Proxy WebSocket upgrades on routed paths: `balancer.attach(httpServer)`. */
  attach(server: HttpServer): this {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(server, req, socket, head));
    return this;
  }

  #upgrade(httpServer: HttpServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const match = this.#closing ? undefined : this.#match(req);
    if (!match) {
      // other upgrade listeners (socket.io, ws) may want it; if none, do not leave it hanging
      if (httpServer.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
      return;
    }
    const pool = this.#pools.get(match.pool)!;
    const context: PickContext = { clientAddress: clientAddress(req, this.config.trustProxy), method: req.method ?? 'GET', path: match.path, headers: req.headers, now: Date.now() };
    const found = pool.config.sticky ? this.#affinity?.lookup(req, pool, context.now) : undefined;
    const open = (pinning: Pinning | undefined) => {
      if (socket.destroyed) return;
      const server = pinning?.server ?? pool.pick(context);
      if (!server) return refuse(socket, 503, 'Service Unavailable', `Retry-After: ${pool.config.retryAfterS}\r\n`);
      const setCookie = pool.config.sticky ? this.#affinity?.pin(req, pool, server, pinning, context.now) : undefined;
      req.url = match.upstreamUrl;
      this.#stripAffinityCookie(req, pool);
      setForwardedHeaders(req, this.config.trustProxy);
      tunnel(this.#forwarder, pool, server, req, socket, head, setCookie);
    };
    if (found instanceof Promise) found.then(open);
    else open(found);
  }

  /** A pool's control API. Throws ControlError for an unknown name. */
  pool(name: string): PoolControl {
    return this.poolInternal(name);
  }

  /** Names of all pools, in configuration order. */
  get poolNames(): string[] {
    return [...this.#pools.keys()];
  }

  /** @internal the full pool, for adapters and the forwarder. */
  poolInternal(name: string): Pool {
    const pool = this.#pools.get(name);
    if (!pool) throw new ControlError(`no pool "${name}"`, { notFound: true });
    return pool;
  }

  /** Plain JSON of every pool and server: state, health, weights, traffic and latency. */
  snapshot(): BalancerSnapshot {
    const at = Date.now();
    const pools: Record<string, PoolSnapshot> = {};
    for (const [name, pool] of this.#pools) pools[name] = pool.snapshot(at);
    return { at, pools };
  }

  /** Stop checks, drain every server (up to each pool's drainTimeoutMs), close agents and stores. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#forwarder.close();
    await this.#affinity?.close();
  }
}

export type { DrainResult };
