import { ControlError } from '../errors.js';
import type { SafeLogger } from '../logger.js';
import { AuditLog } from './audit.js';
import type { Actor, AppliedChange, ChangeEvent, ChangeOrigin, Commit, RecordWrite, StateSnapshot } from './changes.js';
import { DrainWaits, type DrainResult } from './drain-waits.js';
import { MemoryControlStore } from './memory-store.js';
import type { ServerRecord } from './records.js';
import type { ControlStore, DrainReport, InstanceInfo } from './store.js';

/** The side of a pool that control changes are applied to. */
export interface ControlledPool {
  readonly name: string;
  /** Apply committed record changes: recompute eligibility once, tell the algorithm, start or end drains. */
  applyChanges(changes: readonly AppliedChange[]): void;
}

export interface ControlPlaneOptions {
  store: ControlStore | undefined;
  instanceId: string;
  seedMode: 'if-empty' | 'replace';
  logger: SafeLogger;
  emit: (event: ChangeEvent) => void;
  auditSize?: number;
}

/**
 * The one entry point for control changes. A change is a compare-and-set write of whole records
 * to the store; once committed, here or on another instance, it is applied to the pool, recorded
 * in the audit log and emitted as one `change` event carrying the records. Applying is
 * idempotent by revision, so a commit that arrives twice (our own answer, then the change log)
 * is applied once.
 */
export class ControlPlane {
  readonly instanceId: string;
  readonly audit: AuditLog;
  readonly #store: ControlStore;
  readonly #logger: SafeLogger;
  readonly #emit: (event: ChangeEvent) => void;
  readonly #pools = new Map<string, ControlledPool>();
  readonly #records = new Map<string, Map<string, ServerRecord>>();
  readonly #drains: DrainWaits;
  readonly #seedMode: 'if-empty' | 'replace';
  #revision = 0;
  #opened: Promise<void> | undefined;
  #opening = false;
  #closed = false;

  constructor(options: ControlPlaneOptions) {
    this.instanceId = options.instanceId;
    this.#store = options.store ?? new MemoryControlStore();
    this.#logger = options.logger;
    this.#emit = options.emit;
    this.#seedMode = options.seedMode;
    this.audit = new AuditLog(options.auditSize);
    this.#drains = new DrainWaits(() => this.#liveInstances());
  }

  /** Is control state shared with other instances (a store other than this process's memory)? */
  get shared(): boolean {
    return !(this.#store instanceof MemoryControlStore);
  }

  /** The newest revision applied here. */
  get revision(): number {
    return this.#revision;
  }

  /** Can changes be committed now? False while a shared store is unreachable. */
  get available(): boolean {
    return this.#store.available !== false;
  }

  /** Register a pool with its configured records (the seed). */
  addPool(pool: ControlledPool, seed: readonly ServerRecord[]): void {
    this.#pools.set(pool.name, pool);
    this.#records.set(pool.name, new Map(seed.map((record) => [record.id, record])));
  }

  /**
   * Open the store: with the in-memory store the seed applies at once; a shared store may answer
   * another state (changes operators made before this instance started), which is applied as a
   * resync. Requests are served from the seed meanwhile, never held.
   */
  open(): Promise<void> {
    if (this.#opened) return this.#opened;
    const answer = this.#store.open({
      instanceId: this.instanceId,
      seed: this.#snapshot(),
      seedMode: this.#seedMode,
      logger: this.#logger,
      listener: {
        committed: (commit) => this.#apply(commit),
        resynced: (snapshot) => this.#resync(snapshot),
        drainReported: (report) => this.#drains.report(report),
      },
    });
    // a store that answers at once is applied at once; commits wait for one that does not
    if (answer instanceof Promise) {
      this.#opening = true;
      this.#opened = answer.then((state) => this.#resync(state)).finally(() => (this.#opening = false));
    } else {
      this.#resync(answer);
      this.#opened = Promise.resolve();
    }
    return this.#opened;
  }

  /** This pool's records, in membership order. */
  records(pool: string): ServerRecord[] {
    return [...(this.#records.get(pool)?.values() ?? [])];
  }

  record(pool: string, id: string): ServerRecord | undefined {
    return this.#records.get(pool)?.get(id);
  }

  /**
   * Commit writes to one pool. With the in-memory store the change has been applied when this
   * returns (the promise is already resolved); with a shared store, when the promise resolves.
   */
  commit(pool: string, writes: readonly RecordWrite[], { actor, origin = 'local' }: { actor?: Actor | undefined; origin?: ChangeOrigin } = {}): Promise<Commit> {
    if (this.#closed) return Promise.reject(new ControlError('the balancer is closed; nothing was changed', { code: 'STORE_UNAVAILABLE' }));
    if (this.#opening) return this.#opened!.then(() => this.commit(pool, writes, { actor, origin }));
    let answer;
    try {
      answer = this.#store.commit({ pool, writes, actor, origin, instance: this.instanceId, at: Date.now() });
    } catch (error) {
      return Promise.reject(error);
    }
    if (answer instanceof Promise) return answer.then((commit) => this.#applyOwn(commit));
    return Promise.resolve(this.#applyOwn(answer));
  }

  /** A local drain of `server` ended (idle, or past its deadline with `closed` cut): tell whoever waits, here and elsewhere. */
  reportDrain(pool: string, server: string, drainId: string, closed: number): void {
    const report: DrainReport = { instance: this.instanceId, pool, server, drainId, closed, at: Date.now() };
    this.#drains.report(report);
    this.#store.reportDrain?.(report);
  }

  /** Resolve when every live instance has finished this drain (or at its deadline plus a grace). */
  waitForDrain(server: string, drainId: string, deadline: number): Promise<DrainResult> {
    return this.#drains.wait(drainId, server, deadline);
  }

  rescheduleDrain(drainId: string, deadline: number): void {
    this.#drains.reschedule(drainId, deadline);
  }

  cancelDrain(drainId: string): void {
    this.#drains.cancel(drainId);
  }

  /** Every live instance with its applied revision; just this one without a shared store. */
  instances(): InstanceInfo[] {
    const known = this.#store.instances?.();
    if (known && known.length > 0) return [...known];
    return [{ id: this.instanceId, revision: this.#revision, lag: 0, lastSeen: Date.now(), self: true }];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#drains.close();
    await this.#opened?.catch(() => {});
    await this.#store.close();
  }

  #liveInstances(): string[] {
    return this.instances().map((instance) => instance.id);
  }

  #applyOwn(commit: Commit): Commit {
    this.#apply(commit);
    return commit;
  }

  /** Apply a commit once: changes whose record already has this revision (or a newer one) are skipped. */
  #apply(commit: Commit): void {
    const records = this.#records.get(commit.pool);
    const pool = this.#pools.get(commit.pool);
    if (!records || !pool) return; // a pool this instance is not configured with
    const fresh: AppliedChange[] = [];
    for (const change of commit.changes) {
      const local = records.get(change.id) ?? null;
      if (local !== null && local.rev >= commit.revision) continue;
      if (local === null && change.after === null) continue;
      if (change.after === null) records.delete(change.id);
      else records.set(change.id, change.after);
      fresh.push({ id: change.id, before: local, after: change.after });
    }
    this.#revision = Math.max(this.#revision, commit.revision);
    if (fresh.length === 0) return;
    const origin = commit.instance === this.instanceId ? commit.origin : 'remote';
    this.#deliver(pool, { ...commit, origin, changes: fresh });
  }

  /** Replace every pool's records with `state`, applying only what differs. */
  #resync(state: StateSnapshot): void {
    for (const [name, pool] of this.#pools) {
      const records = this.#records.get(name)!;
      const wanted = new Map((state.pools[name] ?? []).map((record) => [record.id, record]));
      if (!(name in state.pools)) continue; // the store knows nothing of this pool: keep ours
      const changes: AppliedChange[] = [];
      for (const [id, before] of records) {
        if (!wanted.has(id)) changes.push({ id, before, after: null });
      }
      for (const [id, after] of wanted) {
        const before = records.get(id) ?? null;
        if (before === null || before.rev !== after.rev || !sameRecord(before, after)) changes.push({ id, before, after });
      }
      // membership order follows the store's
      this.#records.set(name, wanted);
      if (changes.length > 0) this.#deliver(pool, { pool: name, revision: state.revision, origin: 'resync', instance: this.instanceId, actor: undefined, at: Date.now(), changes });
    }
    this.#revision = state.revision;
  }

  #deliver(pool: ControlledPool, event: ChangeEvent): void {
    pool.applyChanges(event.changes);
    this.audit.recordCommit(event);
    this.#emit(event);
  }

  #snapshot(): StateSnapshot {
    const pools: Record<string, ServerRecord[]> = {};
    for (const [name, records] of this.#records) pools[name] = [...records.values()];
    return { revision: this.#revision, pools };
  }
}

function sameRecord(a: ServerRecord, b: ServerRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
