import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Server as NetServer, Socket } from 'node:net';
import { expressAdapter, type ConnectMiddleware, type ExpressAdapterOptions } from './adapters/express.js';
import { koaAdapter, type KoaMiddleware } from './adapters/koa.js';
import { wrapAdapter, type RequestHandler } from './adapters/wrap.js';
import { Affinity, type Pinning } from './affinity/affinity.js';
import type { AuditLog } from './control/audit.js';
import type { ChangeEvent } from './control/changes.js';
import { ControlPlane } from './control/control-plane.js';
import { PoolControl } from './control/pool-control.js';
import { sharedHealth } from './control/shared-health.js';
import type { InstanceInfo } from './control/store.js';
import { ControlError, type ErrorCode } from './errors.js';
import { planBody, type ParsedBody } from './forwarding/body.js';
import { deliverError, errorDelivery, sendError } from './forwarding/error-response.js';
import { Exchange } from './forwarding/exchange.js';
import { Forwarder } from './forwarding/forwarder.js';
import { reportFinish } from './forwarding/finish.js';
import { peerAddress } from './forwarding/headers.js';
import { clientAddressOf, TRUST_NOTHING, type Trust } from './forwarding/trust.js';
import { LoopGuard } from './forwarding/loop.js';
import { requestPasses } from './forwarding/passes/request.js';
import { Tunnels } from './forwarding/websocket.js';
import type { UpstreamError } from './errors.js';
import { Guard } from './guard.js';
import { createPoolHealth } from './health/index.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './stats/prometheus.js';
import type { BalancerConfig } from './options.js';
import { Pool, type HealthEvent, type PanicEvent, type PoolSnapshot } from './pool/pool.js';
import type { Server } from './pool/server.js';
import { compileRoutes, type RouteMatch } from './routing/routes.js';
import { TcpFrontend, type ListenTcpOptions } from './tcp/frontend.js';
import { RolloutController } from './rollout/controller.js';
import type { RolloutEvent } from './rollout/rollout.js';
import { rolloutSharing } from './rollout/sharing.js';

export interface BalancerSnapshot {
  at: number;
  /** This instance, and the control-state revision it has applied. */
  instance: string;
  revision: number;
  pools: Record<string, PoolSnapshot>;
}

/** What an adapter knows about a request beyond `req` and `res`. */
export interface HandleOptions {
  /** What a framework's body parser left elsewhere than `req.body` (Koa's `ctx.request`). */
  parsed?: ParsedBody;
  /** The host app's own trust proxy setting, when the balancer has none. */
  trust?: Trust;
  /** Upstream errors go here instead of an error response (`express({ errors: 'next' })`). */
  onError?: (error: UpstreamError) => void;
}

export interface BalancerEvents {
  /** A committed control change (weights, admin state, membership), with the full records. */
  change: [ChangeEvent];
  /** A server's health moved (active checks, passive ejection). */
  health: [HealthEvent];
  /** A pool entered or left panic (too few healthy servers: balancing over all). */
  panic: [PanicEvent];
  /** A rollout's transition: start, step, extend, pause, resume, promote, abort, complete. */
  rollout: [RolloutEvent];
}

/**
 * Owns the pools and wires a request's way: routing → affinity → pick (or queue) → request
 * passes → forwarding. Control changes go through the control plane and come out as `change`
 * events; health transitions as `health` events. A listener that throws is logged, never rethrown.
 */
export class Balancer extends EventEmitter<BalancerEvents> {
  readonly config: BalancerConfig;
  readonly #pools = new Map<string, Pool>();
  readonly #controls = new Map<string, PoolControl>();
  readonly #rollouts = new Map<string, RolloutController>();
  readonly #plane: ControlPlane;
  readonly #match: (req: IncomingMessage) => RouteMatch | undefined;
  readonly #forwarder: Forwarder;
  readonly #tunnels: Tunnels;
  readonly #affinity: Affinity | undefined;
  readonly #guard: Guard;
  readonly #loop = new LoopGuard();
  readonly #tcp: TcpFrontend;
  #closing: Promise<void> | undefined;

  constructor(config: BalancerConfig) {
    super();
    this.config = config;
    this.#guard = new Guard(config.logger);
    const plane = new ControlPlane({
      store: config.control.store,
      instanceId: config.control.instanceId,
      seedMode: config.control.seed,
      logger: config.logger,
      emit: (event) => this.emit('change', event),
    });
    this.#plane = plane;
    const sharing = rolloutSharing(config.control.store, plane.instanceId);
    for (const poolConfig of config.pools) {
      const name = poolConfig.name;
      const pool = new Pool(poolConfig, {
        guard: this.#guard,
        emitHealth: (event) => this.emit('health', event),
        emitPanic: (event) => {
          if (event.panic) config.logger.warn(`pool "${name}" in panic: ${event.healthy} of ${event.total} servers healthy, balancing over all of them`, { pool: name });
          this.emit('panic', event);
        },
        reportDrain: (server, drainId, closed) => plane.reportDrain(name, server, drainId, closed),
        drainCancelled: (drainId) => plane.cancelDrain(drainId),
        removalOverdue: (record) => {
          plane.commit(name, [{ id: record.id, expectRev: record.rev, after: null }], { actor: { user: 'switchyard' } }).catch(() => {
            // another instance finished it, or it was cancelled: either way nothing is left to do
          });
        },
      });
      const health = createPoolHealth(pool, config.logger, sharedHealth(config.control.store, poolConfig, config.control.instanceId, () => pool.servers));
      if (health) pool.useHealth(health);
      this.#pools.set(name, pool);
      plane.addPool(pool, pool.seedRecords());
      const control = new PoolControl(pool, plane);
      this.#controls.set(name, control);
      const rollouts = new RolloutController({ pool, control, plane, states: sharing.states, fleet: sharing.fleet(name), guard: this.#guard, logger: config.logger, emit: (event) => this.emit('rollout', event) });
      control.useRollouts(rollouts);
      this.#rollouts.set(name, rollouts);
    }
    plane.open().then(
      () => { for (const rollouts of this.#rollouts.values()) rollouts.resume().catch((error: unknown) => config.logger.error('a stored rollout could not be resumed', { error: String(error) })); },
      (error: unknown) => config.logger.error('control store could not be opened; serving the configured state', { error: String(error) }),
    );
    this.#match = compileRoutes(config.routes, { caseSensitive: config.caseSensitive });
    this.#affinity = config.sticky
      ? new Affinity(config.sticky, { logger: config.logger, pools: this.#pools.values() })
      : undefined;
    this.#forwarder = new Forwarder(this.#pools.values(), {
      affinity: this.#affinity,
      passes: requestPasses({ affinity: this.#affinity, loop: this.#loop, guard: this.#guard, requestId: config.requestId }),
      guard: this.#guard,
      requestIdHeader: config.requestId?.header,
      shortestTimeoutMs: shortestTimeout(config),
      maxBufferedBytes: config.maxBufferedBytes,
    });
    this.#tcp = new TcpFrontend(this.#pools, config.logger);
    this.#tunnels = new Tunnels(this.#forwarder, { affinity: this.#affinity, trust: config.trustProxy ?? TRUST_NOTHING, loop: this.#loop, guard: this.#guard, logger: config.logger });
  }

  /** Listeners run guarded: one that throws is logged and the others still run. */
  override emit<K extends keyof BalancerEvents>(event: K, ...args: BalancerEvents[K]): boolean {
    const listeners = this.rawListeners(event) as Array<(...values: unknown[]) => void>;
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.#guard.report(`a '${event}' listener`, error);
      }
    }
    return listeners.length > 0;
  }

  /**
   * Proxy a request if a route matches, else call `next()` with the request untouched (its body
   * unread, its headers as they came). `next` is only ever called synchronously, which the Koa
   * adapter relies on. The adapters below are thin shells around this.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, options?: HandleOptions): void {
    const match = this.#match(req);
    if (!match) return next();
    if (this.#closing) return sendError(req, res, 'SHUTTING_DOWN', { close: true });
    const pool = this.#pools.get(match.pool)!;
    if (this.#loop.looped(req.headers.via)) return sendError(req, res, 'LOOP_DETECTED');
    const body = planBody(req, options?.parsed);
    if (body.kind === 'consumed') {
      this.#guard.report(`pool "${pool.name}": a request body`, new Error(`${body.reason}; mount the balancer before body parsers, or keep the raw body (express.json({ verify: keepRawBody }))`));
      return sendError(req, res, 'BODY_ALREADY_CONSUMED');
    }
    const peer = peerAddress(req);
    const trust = this.config.trustProxy ?? options?.trust ?? TRUST_NOTHING;
    const exchange = new Exchange(
      req, res, pool, match, peer, clientAddressOf(req, trust, peer), trust, trust !== TRUST_NOTHING && trust(peer, 0),
      body, Date.now(), performance.now(), options?.onError,
    );
    res.on('close', () => this.#closed(exchange));
    const key = pool.config.hash.key;
    if (key) {
      const value = this.#guard.run(`pools.${pool.name}.hash.key`, () => key(req), undefined);
      exchange.hashKey = typeof value === 'string' && value !== '' ? value : undefined;
    }
    const found = pool.config.sticky ? this.#affinity?.lookup(req, pool, exchange.now) : undefined;
    if (found instanceof Promise) found.then((pinning) => this.#dispatch(exchange, pinning), () => this.#dispatch(exchange, undefined));
    else this.#dispatch(exchange, found);
  }

  /** Choose the server (the pinned one if it still takes pinned requests), or queue, and forward. */
  #dispatch(exchange: Exchange, pinning: Pinning | undefined): void {
    if (exchange.done) return; // the client left while the affinity store answered
    if (this.#closing) return this.#refuse(exchange, 'SHUTTING_DOWN');
    const { pool } = exchange;
    exchange.pinning = pinning;
    // checked again now: a lookup may have taken long enough for the pinned server to leave
    const pinned = pinning?.server;
    const choice = pinned && pool.acceptsPinned(pinned, Date.now(), exchange) ? pinned : pool.choose(exchange);
    if (choice === undefined) return this.#refuse(exchange, 'NO_ELIGIBLE_SERVER');
    if (choice !== 'full') return this.#start(exchange, choice);
    exchange.phase = 'queued';
    exchange.onAdmit = (server) => {
      exchange.queuedMs = Date.now() - exchange.queuedAt;
      this.#start(exchange, server);
    };
    exchange.onExpire = () => this.#refuse(exchange, 'QUEUE_TIMEOUT');
    if (!pool.enqueue(exchange, Date.now())) this.#refuse(exchange, 'QUEUE_FULL');
  }

  #start(exchange: Exchange, server: Server): void {
    if (exchange.done) return;
    exchange.hold(server);
    this.#forwarder.forward(exchange, server);
  }

  /** Answer without any server: nothing is counted against one. */
  #refuse(exchange: Exchange, code: ErrorCode): void {
    if (exchange.done) return;
    exchange.done = true;
    exchange.code = code;
    if (code === 'QUEUE_TIMEOUT') exchange.queuedMs = Date.now() - exchange.queuedAt;
    const busy = code === 'NO_ELIGIBLE_SERVER' || code === 'QUEUE_FULL' || code === 'QUEUE_TIMEOUT';
    deliverError(errorDelivery(exchange), code, { retryAfterS: busy ? exchange.pool.config.retryAfterS : undefined, close: code === 'SHUTTING_DOWN' }, this.#guard);
    reportFinish(exchange, 'aborted', this.#guard);
  }

  #closed(exchange: Exchange): void {
    if (exchange.done) return;
    if (exchange.holding) return this.#forwarder.closed(exchange);
    // the client left before a server was chosen: there is nothing to release
    exchange.pool.dequeue(exchange);
    exchange.done = true;
  }

  /** Express and any connect-style app: `app.use(balancer.express())`. */
  express(options?: ExpressAdapterOptions): ConnectMiddleware {
    return expressAdapter(this, options);
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
    const match = this.#match(req);
    if (!match) {
      // other upgrade listeners (socket.io, ws) may want it; if none, do not leave it hanging
      if (httpServer.listenerCount('upgrade') === 1) this.#tunnels.refuse(socket, 404, 'Not Found');
      return;
    }
    if (this.#closing) return this.#tunnels.refuse(socket, 503, 'Service Unavailable', 'Connection: close\r\n');
    this.#tunnels.open(this.#pools.get(match.pool)!, match, req, socket, head);
  }

  /**
   * The client's address as this balancer sees it: the socket's peer, or the X-Forwarded-For hop
   * that `trustProxy` trusts. The dashboard limits failed logins by it.
   */
  clientAddress(req: IncomingMessage): string {
    const peer = peerAddress(req);
    return clientAddressOf(req, this.config.trustProxy ?? TRUST_NOTHING, peer);
  }

  /**
   * A Prometheus scrape handler that needs no dashboard (and so no login): mount it where the
   * scraper looks, e.g. `app.get('/metrics', balancer.metrics())` on an internal port.
   */
  metrics(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const body = renderMetrics(this.snapshot());
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
  }

  /**
   * A readiness handler for the host app (Kubernetes `readinessProbe`): 200 while every pool (or
   * the `pools` named) has at least one eligible server, 503 otherwise and from the moment
   * `close()` is called, so that a closing pod leaves rotation before it stops.
   *
   * @example
   * app.get('/ready', balancer.ready());
   */
  ready({ pools }: { pools?: readonly string[] } = {}): (req: IncomingMessage, res: ServerResponse) => void {
    const names = pools ?? this.poolNames;
    for (const name of names) this.poolInternal(name); // an unknown name fails now, not at the first probe
    return (req, res) => {
      const waiting = this.#closing ? names : names.filter((name) => this.#pools.get(name)!.eligible.length === 0);
      const ready = !this.#closing && waiting.length === 0;
      const body = JSON.stringify({ ready, closing: this.#closing !== undefined, pools: Object.fromEntries(names.map((name) => [name, this.#pools.get(name)!.eligible.length])) });
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
  }

  /**
   * A TCP pool's connection handler, for a `net.Server` of your own. A ConfigError for an HTTP pool.
   *
   * @example
   * net.createServer({ allowHalfOpen: true }, balancer.tcp('cache')).listen(6380);
   */
  tcp(pool: string): (socket: Socket) => void {
    return this.#tcp.relay(pool).handle;
  }

  /**
   * Listen on `port` and proxy every connection to the TCP pool `pool`; the server closes with
   * the balancer. Listen errors are logged and emitted on the returned server.
   *
   * @example
   * const server = balancer.listenTcp(6380, 'cache', { host: '127.0.0.1' });
   */
  listenTcp(port: number, pool: string, options?: ListenTcpOptions): NetServer {
    return this.#tcp.listen(port, pool, options);
  }

  /** A pool's control API. Throws a ControlError (`NOT_FOUND`) for an unknown name. */
  pool(name: string): PoolControl {
    const control = this.#controls.get(name);
    if (!control) throw new ControlError(`no pool "${name}"`, { code: 'NOT_FOUND' });
    return control;
  }

  /** Names of all pools, in configuration order. */
  get poolNames(): string[] {
    return [...this.#pools.keys()];
  }

  /** @internal the full pool, for adapters and tests. */
  poolInternal(name: string): Pool {
    const pool = this.#pools.get(name);
    if (!pool) throw new ControlError(`no pool "${name}"`, { code: 'NOT_FOUND' });
    return pool;
  }

  /** Every applied control change, whoever made it (code, the dashboard, another instance). */
  get audit(): AuditLog {
    return this.#plane.audit;
  }

  /** This instance's id in the fleet. */
  get instanceId(): string {
    return this.#plane.instanceId;
  }

  /** Every live instance sharing the control state, with its applied revision and lag; just this one without a shared store. */
  instances(): InstanceInfo[] {
    return this.#plane.instances();
  }

  /** Is control state shared (a store other than memory), and can changes be committed now? */
  controlStatus(): { shared: boolean; available: boolean } {
    return { shared: this.#plane.shared, available: this.#plane.available };
  }

  /** Plain JSON of every pool and server: state, health, weights, traffic and latency. */
  snapshot(): BalancerSnapshot {
    const at = Date.now();
    const pools: Record<string, PoolSnapshot> = {};
    for (const [name, pool] of this.#pools) {
      const rollout = this.#rollouts.get(name)?.snapshot();
      pools[name] = rollout ? { ...pool.snapshot(at), rollout } : pool.snapshot(at);
    }
    return { at, instance: this.#plane.instanceId, revision: this.#plane.revision, pools };
  }

  /**
   * Stop taking requests (routed ones are answered 503 with `Connection: close`), let this
   * instance's in-flight requests finish up to each pool's drainTimeoutMs and cut the rest, stop
   * health checks, close agents and stores. Control state is untouched: closing one instance
   * drains nothing on the others.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#tcp.close();
    await Promise.all([...this.#rollouts.values()].map((rollouts) => rollouts.stop()));
    for (const pool of this.#pools.values()) pool.stop();
    await Promise.all([...this.#pools.values()].map((pool) => pool.settle(pool.config.drainTimeoutMs)));
    this.#tunnels.close();
    this.#forwarder.close();
    await this.#affinity?.close();
    await this.#plane.close();
  }
}

/** The shortest timeout of any pool or route policy: the timeout sweep runs often enough for it. */
function shortestTimeout(config: BalancerConfig): number {
  const policies = [...config.pools.map((pool) => pool.policy), ...config.routes.map((route) => route.policy)];
  return Math.min(...policies.map(({ timeouts, retry }) => Math.min(timeouts.connectMs, timeouts.responseMs, timeouts.clientMs, retry.perTryTimeoutMs)));
}
