import type { Algorithm, Candidate, PickContext, PoolView, UpdateReason } from '../algorithms/algorithm.js';
import { ALGORITHMS } from '../algorithms/index.js';
import type { AppliedChange } from '../control/changes.js';
import type { ControlledPool } from '../control/control-plane.js';
import { isDraining, recordOf, type ServerRecord } from '../control/records.js';
import type { Guard } from '../guard.js';
import { DEFAULTS, type PoolConfig } from '../options.js';
import type { RolloutSnapshot } from '../rollout/rollout.js';
import { WHOLE_POOL, type ArmSplit } from '../rollout/split.js';
import type { Outcome } from '../stats/server-stats.js';
import { LocalDrains } from './drains.js';
import type { InFlight } from './in-flight.js';
import { RequestQueue, type QueueStats, type Waiter } from './queue.js';
import { Server, type Health, type ServerSnapshot } from './server.js';

export type { InFlight };

/** The health side of a pool (active checks, passive ejection), seen through what the pool needs. */
export interface PoolHealth {
  watch(server: Server): void;
  unwatch(server: Server): void;
  /** A finished request's outcome, for passive checks. Called on the hot path: keep it O(1). */
  record(server: Server, outcome: Outcome): void;
  close(): void;
}

/** A health transition, as `balancer.on('health')` gives it. */
export interface HealthEvent {
  pool: string;
  server: string;
  before: Health;
  after: Health;
  /** Why: "status 500 (3 in a row)", "5 consecutive failures (last: connect); ejected for 30000 ms". */
  reason: string;
  at: number;
}

/** A pool entering or leaving panic, as `balancer.on('panic')` gives it. */
export interface PanicEvent {
  pool: string;
  panic: boolean;
  /** Healthy active primaries, and active primaries that have been checked. */
  healthy: number;
  total: number;
  at: number;
}

export interface PoolSnapshot {
  name: string;
  /** `tcp` for a layer 4 pool: its servers' snapshots carry `tcp` connection figures. Always set by the pool (absent reads as `http`). */
  protocol?: 'http' | 'tcp';
  algorithm: string;
  sticky: boolean;
  eligible: number;
  /** Balancing over every active primary because too few are healthy (see panicThreshold). */
  panic: boolean;
  /** Retries in flight now. */
  retrying: number;
  queue: QueueStats;
  servers: ServerSnapshot[];
  /** The pool's rollout, while one runs (or the last one run here). */
  rollout?: RolloutSnapshot;
}

export interface PoolOptions {
  guard: Guard;
  emitHealth(event: HealthEvent): void;
  emitPanic(event: PanicEvent): void;
  /** This instance has finished a drain of `server` (see LocalDrains). */
  reportDrain(server: string, drainId: string, closed: number): void;
  drainCancelled(drainId: string): void;
  /** A removal's deadline passed long ago and its record is still there: finish it (its initiator may be gone). */
  removalOverdue(record: ServerRecord): void;
}

/** What `choose` answers: a server, `full` (every eligible server is at maxConnections: queue), or nothing eligible. */
export type Choice = Server | 'full' | undefined;

/** Slow start is re-announced to the algorithm this often at most, so shares follow the ramp. */
const RAMP_STEPS = 20;
const MIN_RAMP_TICK_MS = 100;
/** A removal whose initiator has not finished it this long after the deadline is finished by whoever sees it. */
const REMOVAL_OVERDUE_MS = 5000;

/**
 * A named set of servers as this instance runs them: membership and admin state come in as
 * committed records (`applyChanges`); health, in-flight counts and the queue are observed here.
 * Eligibility is recomputed once per change and the algorithm is told, never on the request path.
 */
export class Pool implements ControlledPool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly algorithm: Algorithm;
  /** Algorithms that keep their own view (an update method) honour `context.exclude` themselves; others get a filtered list. */
  readonly #keepsView: boolean;
  readonly #custom: boolean;
  /** The algorithm's in-flight hooks, bound once (and guarded, for a user's algorithm). */
  readonly #acquired: ((server: Server) => void) | undefined;
  readonly #released: ((server: Server) => void) | undefined;
  readonly #servers = new Map<string, Server>();
  #members: Server[] = [];
  #eligible: Server[] = [];
  #hasEligiblePrimary = false;
  #panic = false;
  /** Eligible servers at maxConnections. */
  #full = 0;
  readonly #queue: RequestQueue;
  readonly #drains: LocalDrains;
  readonly #removalTimers = new Map<Server, NodeJS.Timeout>();
  /** Initial servers take no slow start on their first passed check: there is nothing to protect yet. */
  readonly #awaitingFirstCheck = new WeakSet<Server>();
  #health: PoolHealth | undefined;
  #rampTimer: NodeJS.Timeout | undefined;
  readonly #options: PoolOptions;
  #settling: { resolve: () => void } | undefined;
  /** Requests and WebSockets in flight on all servers, and those of them on a retry (for the retry budget). */
  #inFlight = 0;
  #retrying = 0;
  /** Two arms while a rollout runs (see rollout/split.ts). */
  #split: ArmSplit | undefined;

  constructor(config: PoolConfig, options: PoolOptions) {
    this.name = config.name;
    this.config = config;
    this.#options = options;
    this.#custom = typeof config.algorithm !== 'string';
    this.algorithm = typeof config.algorithm === 'string' ? ALGORITHMS[config.algorithm]({ balanceFactor: config.hash.balanceFactor }) : config.algorithm;
    this.#keepsView = typeof this.algorithm.update === 'function';
    this.#acquired = this.#hook('acquired');
    this.#released = this.#hook('released');
    this.#queue = new RequestQueue(config.queue.size, config.queue.timeoutMs);
    this.#drains = new LocalDrains({
      report: (server, drainId, closed) => options.reportDrain(server.id, drainId, closed),
      cancelled: (drainId) => options.drainCancelled(drainId),
    });
    for (const spec of config.initialServers) {
      const server = this.#createServer(recordOf(spec));
      if (config.healthCheck) this.#awaitingFirstCheck.add(server);
    }
    this.#refresh(true);
  }

  /** The configured servers as records: the seed of the control state. */
  seedRecords(): ServerRecord[] {
    return this.#members.map((server) => server.record);
  }

  /** Attach active and passive health; called once by the balancer. */
  useHealth(health: PoolHealth): void {
    this.#health = health;
    for (const server of this.#members) health.watch(server);
  }

  get servers(): readonly Server[] {
    return this.#members;
  }

  /** Servers that may take a new request now; the same array until something changes. */
  get eligible(): readonly Server[] {
    return this.#eligible;
  }

  /** Retries in flight now (for the snapshot and the budget). */
  get retrying(): number {
    return this.#retrying;
  }

  get queue(): RequestQueue {
    return this.#queue;
  }

  get(id: string): Server | undefined {
    return this.#servers.get(id);
  }

  /** The rollout's arms, while one runs. */
  get split(): ArmSplit | undefined {
    return this.#split;
  }

  /** Split picks by arm (a rollout starts), or stop (it ends). */
  useSplit(split: ArmSplit | undefined): void {
    this.#split = split;
    if (split) split.update(this.#view(), 'members');
  }

  // ----- applying control state ------------------------------------------------------------

  applyChanges(changes: readonly AppliedChange[]): void {
    let members = false;
    for (const { id, before, after } of changes) {
      const server = this.#servers.get(id);
      if (after === null) {
        if (server) this.#removeServer(server);
        members = true;
      } else if (!server) {
        const added = this.#createServer(after);
        this.#health?.watch(added);
        if (added.health === 'healthy') this.#ramp(added);
        members = true;
      } else {
        server.record = after;
        if (before === null || before.weight !== after.weight) members = true;
        this.#drains.sync(server);
        this.#watchRemoval(server);
      }
    }
    this.#refresh(members);
  }

  // ----- picking -----------------------------------------------------------------------------

  /**
   * Choose a server for a request: `context.exclude` holds the servers it already tried. Full
   * servers are passed over; when every eligible one is full the answer is `full` (queue it).
   */
  choose(context: PickContext): Choice {
    const eligible = this.#eligible;
    if (eligible.length === 0) return undefined;
    if (this.#split) {
      const answer = this.#split.choose(context, this.config.maxConnections, this.#full > 0);
      if (answer !== WHOLE_POOL) return answer;
    }
    if (this.#full === 0) return this.#pick(eligible, context);
    if (this.#full >= eligible.length && !context.exclude) return 'full';
    // rare: some servers are full; leave them out of this one pick as if they were not eligible
    const exclude = new Set<Candidate>(context.exclude);
    for (const server of eligible) if (server.active >= this.config.maxConnections) exclude.add(server);
    if (exclude.size >= eligible.length) {
      const tried = context.exclude;
      return tried && eligible.every((server) => tried.has(server)) ? this.#pickBackup(tried) : 'full';
    }
    return this.#pick(eligible, { ...context, exclude });
  }

  #pick(eligible: readonly Server[], context: PickContext): Server | undefined {
    const exclude = context.exclude;
    let picked: Server | undefined;
    if (this.#keepsView && !this.#custom) {
      picked = this.algorithm.pick(eligible, context);
    } else {
      const candidates = exclude && exclude.size > 0 ? eligible.filter((server) => !exclude.has(server)) : eligible;
      if (candidates.length === 0) return this.#pickBackup(exclude);
      picked = this.#custom ? this.#options.guard.run(`pools.${this.name}.algorithm.pick`, () => this.algorithm.pick(candidates, context), undefined) : this.algorithm.pick(candidates, context);
      // a user-supplied algorithm must answer from the list: else it is refused (O(1) by the flags)
      if (this.#custom && picked && (this.#servers.get(picked.id) !== picked || !picked.eligible || exclude?.has(picked))) picked = undefined;
    }
    if (picked === undefined && exclude && exclude.size > 0) return this.#pickBackup(exclude);
    return picked;
  }

  /** A retry may fall back to backups once every primary has been tried. */
  #pickBackup(exclude: ReadonlySet<Candidate> | undefined): Server | undefined {
    for (const server of this.#members) {
      if (server.backup && takesNew(server) && !exclude?.has(server) && server.active < this.config.maxConnections) return server;
    }
    return undefined;
  }

  /**
   * May a request pinned to this server (affinity) still go there? Draining servers keep theirs
   * until the deadline; a session on a backup moves back once a primary is eligible again.
   */
  acceptsPinned(server: Server, now: number, context?: PickContext): boolean {
    if (this.#servers.get(server.id) !== server || server.health !== 'healthy') return false;
    // during a rollout a session follows its cohort's arm
    if (this.#split && context && !this.#split.pinAllowed(server, context)) return false;
    if (server.backup && this.#hasEligiblePrimary) return false;
    if (server.active >= this.config.maxConnections) return false;
    const admin = server.state;
    return admin === 'active' || (isDraining(admin) && now < server.drainDeadline);
  }

  /**
   * May one more request start a retry? Retries in flight stay below `budgetPercent` of the
   * requests in flight (and at least a few may run), so a failing pool is not stormed.
   */
  retryAllowed(budgetPercent: number): boolean {
    return this.#retrying < Math.max(DEFAULTS.retryBudgetMinimum, Math.floor((this.#inFlight * budgetPercent) / 100));
  }

  /** A request starts (true) or ends (false) counting as a retry. */
  countRetry(on: boolean): void {
    this.#retrying += on ? 1 : -1;
  }

  /** Wait for a server that is not full: `waiter.admit(server)` once one frees, or `expire()`. False when the queue is full. */
  enqueue(waiter: Waiter, now: number): boolean {
    return this.#queue.push(waiter, now);
  }

  dequeue(waiter: Waiter): void {
    this.#queue.remove(waiter);
  }

  /** Count a request or WebSocket in flight; `release` when it ends. */
  acquire(server: Server, handle: InFlight): void {
    server.inFlight.add(handle);
    this.#inFlight++;
    if (server.active === this.config.maxConnections && server.eligible) this.#full++;
    this.#acquired?.(server);
    this.#split?.acquired(server);
  }

  release(server: Server, handle: InFlight, outcome: Outcome): void {
    if (!server.inFlight.delete(handle)) return;
    this.#inFlight--;
    if (server.active === this.config.maxConnections - 1 && server.eligible) this.#full--;
    this.#released?.(server);
    this.#split?.released(server);
    this.#health?.record(server, outcome);
    this.#drains.released(server);
    if (this.#queue.length > 0) this.#admitWaiting();
    if (this.#settling && this.#totalActive() === 0) this.#settling.resolve();
  }

  snapshot(now = Date.now()): PoolSnapshot {
    return {
      name: this.name,
      protocol: this.config.protocol,
      algorithm: this.algorithm.name ?? 'custom',
      sticky: this.config.sticky !== null,
      eligible: this.#eligible.length,
      panic: this.#panic,
      retrying: this.#retrying,
      queue: this.#queue.stats(),
      servers: this.#members.map((server) => server.snapshot(now)),
    };
  }

  /**
   * For `balancer.close()`: wait for this instance's in-flight requests to end, and at
   * `timeoutMs` cut the rest. Records are untouched: closing one instance drains nothing for
   * the others.
   */
  async settle(timeoutMs: number): Promise<void> {
    this.#queue.clear();
    if (this.#totalActive() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.#settling = { resolve: () => { clearTimeout(timer); resolve(); } };
      });
      this.#settling = undefined;
      for (const server of this.#members) for (const handle of server.inFlight.toArray()) handle.abort();
    }
  }

  /** Stop checks, timers and drains, for good. */
  stop(): void {
    this.#health?.close();
    this.#drains.close();
    clearInterval(this.#rampTimer);
    for (const timer of this.#removalTimers.values()) clearTimeout(timer);
    this.#removalTimers.clear();
  }

  // ----- internals -----------------------------------------------------------------------

  #createServer(record: ServerRecord): Server {
    const server = new Server(record, { activeCheck: this.config.healthCheck !== null, listener: this.#onHealth, tcp: this.config.protocol === 'tcp' });
    this.#servers.set(server.id, server);
    this.#members.push(server);
    return server;
  }

  #removeServer(server: Server): void {
    this.#health?.unwatch(server);
    this.#drains.forget(server);
    clearTimeout(this.#removalTimers.get(server));
    this.#removalTimers.delete(server);
    this.#servers.delete(server.id);
    this.#members = this.#members.filter((member) => member !== server);
    if (server.eligible && server.active >= this.config.maxConnections) this.#full--;
    server.eligible = false;
    // removed without a drain (or by another instance past its deadline): nothing may stay on it
    for (const handle of server.inFlight.toArray()) handle.abort();
  }

  /** A removing record has a deadline; if nobody completes the removal, this instance does. */
  #watchRemoval(server: Server): void {
    clearTimeout(this.#removalTimers.get(server));
    this.#removalTimers.delete(server);
    const record = server.record;
    if (record.admin !== 'removing' || !record.drain) return;
    const timer = setTimeout(() => this.#options.removalOverdue(server.record), Math.max(0, record.drain.deadline - Date.now()) + REMOVAL_OVERDUE_MS);
    timer.unref();
    this.#removalTimers.set(server, timer);
  }

  #onHealth = (server: Server, before: Health, after: Health, reason: string): void => {
    if (after === 'healthy') {
      if (this.#awaitingFirstCheck.has(server)) this.#awaitingFirstCheck.delete(server);
      else this.#ramp(server);
    }
    if (this.#servers.get(server.id) !== server) return; // not yet added, or already removed
    this.#refresh(false);
    this.#options.emitHealth({ pool: this.name, server: server.id, before, after, reason, at: Date.now() });
  };

  #ramp(server: Server): void {
    if (this.config.slowStartMs <= 0) return;
    server.startRamp(this.config.slowStartMs);
    if (this.#rampTimer) return;
    // the algorithm hears of the ramp's progress in steps: shares follow the ramp, picks stay O(log n)
    this.#rampTimer = setInterval(() => {
      const now = Date.now();
      if (!this.#members.some((member) => member.inSlowStart(now))) {
        clearInterval(this.#rampTimer);
        this.#rampTimer = undefined;
      }
      this.#tellAlgorithm('eligibility');
    }, Math.max(MIN_RAMP_TICK_MS, this.config.slowStartMs / RAMP_STEPS));
    this.#rampTimer.unref();
  }

  /**
   * Recompute the eligible set once: primaries that may take traffic, else backups. In panic
   * (fewer than panicThreshold% of the checked, active primaries healthy, and no backup to take
   * over) every active primary is eligible, healthy or not, as Envoy does: spread over all
   * rather than crush the few left.
   */
  #refresh(members: boolean): void {
    const primaries: Server[] = [];
    const backups: Server[] = [];
    const active: Server[] = [];
    for (const server of this.#members) {
      server.eligible = false;
      if (takesNew(server)) (server.backup ? backups : primaries).push(server);
      // a server not checked yet counts neither way: it is not known to be down
      if (!server.backup && server.state === 'active' && server.weight > 0 && server.check !== 'pending') active.push(server);
    }
    const threshold = this.config.panicThreshold;
    const panic = threshold > 0 && active.length > 0 && backups.length === 0 && primaries.length * 100 < active.length * threshold;
    if (panic !== this.#panic) {
      this.#panic = panic;
      this.#options.emitPanic({ pool: this.name, panic, healthy: primaries.length, total: active.length, at: Date.now() });
    }
    this.#hasEligiblePrimary = primaries.length > 0;
    this.#eligible = panic ? active : primaries.length > 0 ? primaries : backups;
    this.#full = 0;
    for (const server of this.#eligible) {
      server.eligible = true;
      if (server.active >= this.config.maxConnections) this.#full++;
    }
    this.#tellAlgorithm(members ? 'members' : 'eligibility');
    if (this.#queue.length > 0) this.#admitWaiting();
  }

  #hook(name: 'acquired' | 'released'): ((server: Server) => void) | undefined {
    const hook = this.algorithm[name];
    if (typeof hook !== 'function') return undefined;
    if (!this.#custom) return (server) => hook.call(this.algorithm, server);
    const site = `pools.${this.name}.algorithm.${name}`;
    return (server) => this.#options.guard.run(site, () => hook.call(this.algorithm, server), undefined);
  }

  #view(): PoolView<Server> {
    return { members: this.#members, eligible: this.#eligible, isEligible: (server) => server.eligible, now: Date.now() };
  }

  #tellAlgorithm(reason: UpdateReason): void {
    this.#split?.update(this.#view(), reason);
    const update = this.algorithm.update;
    if (!update) return;
    const view = this.#view();
    if (this.#custom) this.#options.guard.run(`pools.${this.name}.algorithm.update`, () => update.call(this.algorithm, view as PoolView, reason), undefined);
    else update.call(this.algorithm, view as PoolView, reason);
  }

  /** A server freed up (or joined): admit waiting requests, oldest first, while servers have room. */
  #admitWaiting(): void {
    const now = Date.now();
    for (let head = this.#queue.head; head; head = this.#queue.head) {
      const choice = this.choose(head as unknown as PickContext);
      if (choice === undefined || choice === 'full') return;
      this.#queue.admitHead(choice, now);
    }
  }

  #totalActive(): number {
    let total = 0;
    for (const server of this.#members) total += server.active;
    return total;
  }
}

function takesNew(server: Server): boolean {
  return server.state === 'active' && server.health === 'healthy' && server.weight > 0;
}
