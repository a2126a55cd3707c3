import type { Algorithm, PickContext } from '../algorithms/algorithm.js';
import { ALGORITHMS } from '../algorithms/index.js';
import { ConfigError, ControlError } from '../errors.js';
import { normalizeServer, type PoolConfig, type ServerOptions } from '../options.js';
import type { Outcome } from '../stats/server-stats.js';
import type { ChangeEvent, DrainResult } from './events.js';
import type { InFlight } from './in-flight.js';
import { Server, type ServerField, type ServerSnapshot } from './server.js';

/** The health side of a pool (active checks, passive ejection), seen through what the pool needs. */
export interface PoolHealth {
  watch(server: Server): void;
  unwatch(server: Server): void;
  /** A finished request's outcome, for passive checks. Called on the hot path: keep it O(1). */
  record(server: Server, outcome: Outcome): void;
  close(): void;
}

export interface PoolSnapshot {
  name: string;
  algorithm: string;
  sticky: boolean;
  eligible: number;
  servers: ServerSnapshot[];
}

interface Drain {
  started: number;
  resolve: (result: DrainResult) => void;
  timer: NodeJS.Timeout;
}

/**
 * A named set of servers: membership, eligibility, picking, and the run-time control API.
 * Every control change goes through these methods and comes out as one `change` event.
 */
export type { InFlight };

export class Pool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly algorithm: Algorithm;
  /** A user-supplied algorithm's answers are checked; the built-in ones answer from the list by construction. */
  readonly #checkPicks: boolean;
  #servers = new Map<string, Server>();
  #eligible: Server[] = [];
  #drains = new Map<Server, Drain>();
  /** Initial servers take no slow start on their first passed check: there is nothing to protect yet. */
  #awaitingFirstCheck = new WeakSet<Server>();
  #health: PoolHealth | undefined;
  #emit: (event: ChangeEvent) => void;

  constructor(config: PoolConfig, emit: (event: ChangeEvent) => void) {
    this.name = config.name;
    this.config = config;
    this.#emit = emit;
    this.algorithm = typeof config.algorithm === 'string' ? ALGORITHMS[config.algorithm]() : config.algorithm;
    this.#checkPicks = typeof config.algorithm !== 'string';
    for (const spec of config.servers) {
      const server = this.#createServer(spec);
      this.#awaitingFirstCheck.add(server);
      this.#servers.set(server.id, server);
    }
    this.#refresh();
  }

  /** Attach active and passive health; called once by the balancer. */
  useHealth(health: PoolHealth): void {
    this.#health = health;
    for (const server of this.#servers.values()) health.watch(server);
  }

  get servers(): readonly Server[] {
    return [...this.#servers.values()];
  }

  /** Servers that may take a new request now; the same array until something changes. */
  get eligible(): readonly Server[] {
    return this.#eligible;
  }

  get(id: string): Server | undefined {
    return this.#servers.get(id);
  }

  /** Choose a server for a request, leaving out servers already tried. */
  pick(context: PickContext, exclude?: ReadonlySet<Server>): Server | undefined {
    let candidates: readonly Server[] = this.#eligible;
    if (exclude && exclude.size > 0) {
      candidates = candidates.filter((server) => !exclude.has(server));
      // a retry may fall back to backups once every primary has been tried
      if (candidates.length === 0) candidates = this.#eligibleBackups().filter((server) => !exclude.has(server));
    }
    if (candidates.length === 0) return undefined;
    const picked = this.algorithm.pick(candidates, context);
    if (!this.#checkPicks) return picked;
    // a user-supplied algorithm must answer from the list (a scan, so only for those): else it is refused
    return picked && this.#servers.get(picked.id) === picked && candidates.includes(picked) ? picked : undefined;
  }

  /** May a request pinned to this server (affinity) still go there? Draining servers keep theirs until the deadline. */
  acceptsPinned(server: Server, now: number): boolean {
    if (this.#servers.get(server.id) !== server || server.health !== 'healthy') return false;
    return server.state === 'active' || (server.state === 'draining' && now < server.drainDeadline);
  }

  /** Count a request or WebSocket in flight; `release` when it ends. */
  acquire(server: Server, handle: InFlight): void {
    server.inFlight.add(handle);
  }

  release(server: Server, handle: InFlight, outcome: Outcome): void {
    if (!server.inFlight.delete(handle)) return;
    this.#health?.record(server, outcome);
    if (server.active === 0 && this.#drains.has(server)) this.#finishDrain(server, false);
  }

  // ----- control API ---------------------------------------------------------------------

  /** Set a server's weight; 0 means no new requests. */
  setWeight(id: string, weight: number): void {
    const server = this.#require(id);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new ControlError(`weight for "${id}" must be a number >= 0, got ${String(weight)}`);
    }
    server.setWeight(weight);
  }

  /** Take new requests again (from draining or disabled). */
  enable(id: string): void {
    const server = this.#require(id);
    this.#cancelDrain(server);
    server.setState('active');
  }

  /** No new requests, pinned ones included; in-flight requests finish. */
  disable(id: string): void {
    const server = this.#require(id);
    this.#cancelDrain(server);
    server.setState('disabled');
  }

  /**
   * Stop sending new requests (pinned sessions keep coming until `drainTimeoutMs`), wait for
   * in-flight requests and WebSockets to finish, and at the timeout close what remains.
   */
  drain(id: string, timeoutMs = this.config.drainTimeoutMs): Promise<DrainResult> {
    const server = this.#require(id);
    const existing = this.#drains.get(server);
    if (existing) return new Promise((resolve) => {
      const previous = existing.resolve;
      existing.resolve = (result) => { previous(result); resolve(result); };
    });
    const started = Date.now();
    server.setState('draining', started + timeoutMs);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#finishDrain(server, true), timeoutMs);
      this.#drains.set(server, { started, resolve, timer });
      if (server.active === 0) this.#finishDrain(server, false);
    });
  }

  addServer(options: ServerOptions): void {
    let spec;
    try {
      spec = normalizeServer(options, `pools.${this.name}.servers[+]`);
    } catch (error) {
      throw new ControlError(error instanceof ConfigError ? error.message : String(error));
    }
    if (this.#servers.has(spec.id)) throw new ControlError(`server "${spec.id}" already exists in pool "${this.name}"`);
    const server = this.#createServer(spec);
    this.#servers.set(server.id, server);
    if (server.health === 'healthy') server.startRamp(this.config.slowStartMs);
    this.#health?.watch(server);
    this.#refresh();
    this.#emit({ type: 'added', pool: this.name, server: server.id, before: null, after: server.state, at: Date.now() });
  }

  /** Drain, then forget the server. */
  async removeServer(id: string, timeoutMs?: number): Promise<DrainResult> {
    const server = this.#require(id);
    const result = await this.drain(id, timeoutMs);
    if (this.#servers.get(id) !== server) return result; // removed meanwhile
    this.#health?.unwatch(server);
    this.#servers.delete(id);
    this.#refresh();
    this.#emit({ type: 'removed', pool: this.name, server: id, before: server.state, after: null, at: Date.now() });
    return result;
  }

  snapshot(now = Date.now()): PoolSnapshot {
    return {
      name: this.name,
      algorithm: this.algorithm.name ?? 'custom',
      sticky: this.config.sticky !== null,
      eligible: this.#eligible.length,
      servers: [...this.#servers.values()].map((server) => server.snapshot(now)),
    };
  }

  /** Drain every server at once (for close()), then stop health checks. */
  async close(timeoutMs = this.config.drainTimeoutMs): Promise<void> {
    await Promise.all([...this.#servers.keys()].map((id) => this.drain(id, timeoutMs)));
    this.#health?.close();
  }

  // ----- internals -----------------------------------------------------------------------

  #createServer(spec: ServerOptions & { weight: number; backup: boolean }): Server {
    return new Server(spec, { activeCheck: this.config.healthCheck !== null, listener: this.#onServerChange });
  }

  #onServerChange = (server: Server, field: ServerField, before: string | number, after: string | number, reason?: string): void => {
    if (field === 'health' && after === 'healthy') {
      if (this.#awaitingFirstCheck.has(server)) this.#awaitingFirstCheck.delete(server);
      else server.startRamp(this.config.slowStartMs);
    }
    if (!this.#servers.has(server.id)) return; // not yet added, or already removed
    this.#refresh();
    const event: ChangeEvent = { type: field, pool: this.name, server: server.id, before, after, at: Date.now() };
    if (reason !== undefined) event.reason = reason;
    this.#emit(event);
  };

  /** Recompute the eligible set: primaries that may take traffic, else backups. */
  #refresh(): void {
    const primaries: Server[] = [];
    for (const server of this.#servers.values()) if (!server.backup && takesNew(server)) primaries.push(server);
    this.#eligible = primaries.length > 0 ? primaries : this.#eligibleBackups();
  }

  #eligibleBackups(): Server[] {
    return [...this.#servers.values()].filter((server) => server.backup && takesNew(server));
  }

  #require(id: string): Server {
    const server = this.#servers.get(id);
    if (!server) throw new ControlError(`no server "${id}" in pool "${this.name}"`, { notFound: true });
    return server;
  }

  #finishDrain(server: Server, timedOut: boolean): void {
    const drain = this.#drains.get(server);
    if (!drain) return;
    this.#drains.delete(server);
    clearTimeout(drain.timer);
    let closed = 0;
    if (timedOut) {
      const handles = server.inFlight.toArray();
      closed = handles.length;
      for (const handle of handles) handle.abort();
    }
    drain.resolve({ server: server.id, drained: !timedOut || closed === 0, closed, waitedMs: Date.now() - drain.started });
  }

  #cancelDrain(server: Server): void {
    const drain = this.#drains.get(server);
    if (!drain) return;
    this.#drains.delete(server);
    clearTimeout(drain.timer);
    drain.resolve({ server: server.id, drained: false, closed: 0, waitedMs: Date.now() - drain.started });
  }
}

function takesNew(server: Server): boolean {
  return server.state === 'active' && server.health === 'healthy' && server.weight > 0;
}
