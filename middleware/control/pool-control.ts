import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConfigError, ControlError } from '../errors.js';
import { normalizeLabels, normalizeServer, normalizeWeight, type ServerOptions } from '../options.js';
import type { Pool, PoolSnapshot } from '../pool/pool.js';
import type { RolloutController } from '../rollout/controller.js';
import type { RolloutPlan } from '../rollout/plan.js';
import type { Rollout } from '../rollout/rollout.js';
import type { Actor, RecordWrite } from './changes.js';
import type { ControlPlane } from './control-plane.js';
import type { DrainResult } from './drain-waits.js';
import { isDraining, type AdminState, type ServerRecord } from './records.js';

/** A drain's (or removal's) result, with `committed`: resolved once the drain has started. */
export type DrainPromise = Promise<DrainResult> & { readonly committed: Promise<unknown> };

/** Who makes a control call, for the audit log. Calls from code without it are logged as `code`. */
export interface ControlCallOptions {
  actor?: Actor | string;
}

/**
 * The control API of one pool, as `balancer.pool(name)` returns it. Every method is a committed
 * change of the pool's records: it resolves once the change is committed (at once with the
 * in-memory store, which applies it before returning), and rejects with a ControlError that
 * changed nothing: `NOT_FOUND`, `CONTROL_INVALID`, `CONFLICT` (someone else changed the record
 * first; `current` holds it) or `STORE_UNAVAILABLE`.
 *
 * @example
 * const pool = balancer.pool('api');
 * await pool.setWeight('api-1', 5);
 * const { drained, closed } = await pool.drain('api-2', 10_000);
 */
export class PoolControl {
  readonly name: string;
  readonly #pool: Pool;
  readonly #plane: ControlPlane;
  #rollouts: RolloutController | undefined;

  constructor(pool: Pool, plane: ControlPlane) {
    this.name = pool.name;
    this.#pool = pool;
    this.#plane = plane;
  }

  /** @internal the balancer gives the pool its rollout controller. */
  useRollouts(controller: RolloutController): void {
    this.#rollouts = controller;
  }

  /**
   * Start a gradual rollout to the canary servers: steps of growing share, each judged while it
   * bakes, rolled back by itself when the canary is worse (see the README, "Rollouts"). Rejects with
   * `CONTROL_INVALID` for a bad plan, `NOT_FOUND` when no server matches, `CONFLICT` while
   * another rollout runs in this pool.
   *
   * @example
   * const rollout = await balancer.pool('api').rollout({
   *   canary: { label: { version: 'v2' } },
   *   steps: [{ share: 1, bakeMs: 120_000 }, { share: 5 }, { share: 25 }, { share: 50 }, { share: 100 }],
   *   analysis: { maxErrorRate: 0.05, minRequests: 200, confidence: 0.99, p99Ratio: 1.5 },
   *   cohort: { key: 'session' },
   * });
   * await rollout.done;
   */
  rollout(plan: RolloutPlan, options?: ControlCallOptions): Promise<Rollout> {
    if (!this.#rollouts) return Promise.reject(new ControlError(`pool "${this.name}" cannot run rollouts`));
    return this.#rollouts.start(plan, actorOf(options?.actor));
  }

  /**
   * The cohort function for rollouts of this pool that this instance did not start: one led by
   * another instance of the fleet, or picked up after a restart (a function cannot be stored).
   * Give every instance the same one, at start-up, so a user keeps one arm on all of them.
   *
   * @example
   * balancer.pool('api').useRolloutCohort((req) => (req as { user?: { id: string } }).user?.id);
   */
  useRolloutCohort(key: ((req: IncomingMessage) => string | undefined) | undefined): void {
    this.#rollouts?.useCohort(key);
  }

  /** The pool's rollout (running, paused, or the last one finished here), if any. */
  currentRollout(): Rollout | undefined {
    return this.#rollouts?.current;
  }

  /** The pool's records (desired state), in membership order. */
  records(): ServerRecord[] {
    return this.#plane.records(this.name);
  }

  snapshot(): PoolSnapshot {
    return this.#pool.snapshot();
  }

  /** Set a server's weight (0 to 256); 0 means no new requests. */
  setWeight(id: string, weight: number, options?: ControlCallOptions): Promise<ServerRecord> {
    return this.#update(id, options, () => {
      if (typeof weight !== 'number') throw new ControlError(`weight for "${id}" must be a number from 0 to 256, got ${String(weight)}`);
      return { weight: asControl(() => normalizeWeight(weight, `weight for "${id}"`)) };
    });
  }

  /** Set a server's labels (rollouts select canaries by them). */
  setLabels(id: string, labels: Record<string, string>, options?: ControlCallOptions): Promise<ServerRecord> {
    return this.#update(id, options, () => ({ labels: asControl(() => normalizeLabels(labels, `labels of "${id}"`)) }));
  }

  /** Take new requests again (from draining, disabled, or a removal not yet finished: that cancels it). */
  enable(id: string, options?: ControlCallOptions): Promise<ServerRecord> {
    return this.#setAdmin(id, 'active', options);
  }

  /** No new requests, pinned ones included; in-flight requests finish. Cancels a drain or removal. */
  disable(id: string, options?: ControlCallOptions): Promise<ServerRecord> {
    return this.#setAdmin(id, 'disabled', options);
  }

  /**
   * Stop sending new requests (pinned sessions keep coming until the deadline), wait for every
   * instance's in-flight requests and WebSockets to finish, and at the deadline close what
   * remains. A second drain keeps the earlier deadline unless its own is sooner. The promise's
   * `committed` resolves as soon as the drain has started (its change committed).
   */
  drain(id: string, timeoutMs = this.#pool.config.drainTimeoutMs, options?: ControlCallOptions): DrainPromise {
    const { committed, done } = this.#beginDrain(id, 'draining', timeoutMs, options);
    return withCommitted(done, committed);
  }

  addServer(server: ServerOptions, options?: ControlCallOptions): Promise<ServerRecord> {
    let spec;
    try {
      spec = normalizeServer(server, `pools.${this.name}.servers[+]`, this.#pool.config.protocol);
    } catch (error) {
      return Promise.reject(new ControlError(error instanceof ConfigError ? error.message : String(error)));
    }
    if (this.#plane.record(this.name, spec.id)) return Promise.reject(new ControlError(`server "${spec.id}" already exists in pool "${this.name}"`));
    const after = { ...spec, admin: 'active' as const, drain: null };
    return this.#commit([{ id: spec.id, expectRev: null, after }], options).then(() => this.#plane.record(this.name, spec.id)!);
  }

  /**
   * Drain, then remove the server. `enable()` or `disable()` meanwhile cancels the removal:
   * the result then says `cancelled: true, removed: false`.
   */
  removeServer(id: string, timeoutMs = this.#pool.config.drainTimeoutMs, options?: ControlCallOptions): DrainPromise {
    const { committed, done } = this.#beginDrain(id, 'removing', timeoutMs, options);
    return withCommitted(done.then(async (result) => this.#finishRemoval(id, await committed, result, options)), committed);
  }

  async #finishRemoval(id: string, drainId: string, result: DrainResult, options: ControlCallOptions | undefined): Promise<DrainResult> {
    for (;;) {
      const current = this.#plane.record(this.name, id);
      if (!current) return { ...result, cancelled: false, removed: true };
      if (current.admin !== 'removing' || current.drain?.id !== drainId) return { ...result, cancelled: true, removed: false };
      try {
        await this.#commit([{ id, expectRev: current.rev, after: null }], options);
        return { ...result, cancelled: false, removed: true };
      } catch (error) {
        // someone changed it meanwhile: look again (an enable cancels, another remover may have finished)
        if (!(error instanceof ControlError) || error.code !== 'CONFLICT') throw error;
      }
    }
  }

  /** Commit the drain (or removal) and wait for it: `committed` answers its id once the change is in. */
  #beginDrain(id: string, admin: 'draining' | 'removing', timeoutMs: number, options: ControlCallOptions | undefined): { committed: Promise<string>; done: Promise<DrainResult> } {
    let record: ServerRecord;
    try {
      if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) throw new ControlError(`drain timeout for "${id}" must be a number of milliseconds >= 0, got ${String(timeoutMs)}`);
      record = this.#require(id);
    } catch (error) {
      const failed = Promise.reject(error);
      return { committed: failed, done: failed };
    }
    const deadline = Date.now() + timeoutMs;
    const current = isDraining(record.admin) ? record.drain : null;
    const drainId = current?.id ?? randomBytes(8).toString('hex');
    const drain = { id: drainId, deadline: current ? Math.min(current.deadline, deadline) : deadline };
    const nextAdmin: AdminState = record.admin === 'removing' ? 'removing' : admin;
    // waited for before committing: with the in-memory store an idle server reports during the commit
    const waiting = this.#plane.waitForDrain(id, drainId, drain.deadline);
    const unchanged = nextAdmin === record.admin && drain.deadline === record.drain?.deadline;
    const committed = unchanged
      ? Promise.resolve(drainId)
      : this.#commit([{ id, expectRev: record.rev, after: { ...strip(record), admin: nextAdmin, drain } }], options).then(
          () => {
            if (current) this.#plane.rescheduleDrain(drainId, drain.deadline);
            return drainId;
          },
          (error: unknown) => {
            if (!current) this.#plane.cancelDrain(drainId);
            throw error;
          },
        );
    return { committed, done: committed.then(() => waiting) };
  }

  #setAdmin(id: string, admin: 'active' | 'disabled', options: ControlCallOptions | undefined): Promise<ServerRecord> {
    return this.#update(id, options, (record) => (record.admin === admin && record.drain === null ? null : { admin, drain: null }));
  }

  /** Commit one record's update; `change` answers the fields to set, or null when nothing would change. */
  async #update(id: string, options: ControlCallOptions | undefined, change: (record: ServerRecord) => Partial<ServerRecord> | null): Promise<ServerRecord> {
    const record = this.#require(id);
    const fields = change(record);
    if (fields === null || Object.entries(fields).every(([key, value]) => JSON.stringify(value) === JSON.stringify(record[key as keyof ServerRecord]))) return record;
    await this.#commit([{ id, expectRev: record.rev, after: { ...strip(record), ...fields } }], options);
    return this.#plane.record(this.name, id) ?? record;
  }

  #commit(writes: RecordWrite[], options: ControlCallOptions | undefined) {
    return this.#plane.commit(this.name, writes, { actor: actorOf(options?.actor) });
  }

  #require(id: string): ServerRecord {
    const record = this.#plane.record(this.name, id);
    if (!record) throw new ControlError(`no server "${id}" in pool "${this.name}"`, { code: 'NOT_FOUND' });
    return record;
  }
}

function withCommitted(done: Promise<DrainResult>, committed: Promise<unknown>): DrainPromise {
  // a caller who awaits only the result must not see `committed`'s rejection as unhandled
  committed.catch(() => {});
  return Object.assign(done, { committed });
}

function strip(record: ServerRecord): Omit<ServerRecord, 'rev'> {
  const { rev: _rev, ...rest } = record;
  return rest;
}

function actorOf(actor: Actor | string | undefined): Actor | undefined {
  return typeof actor === 'string' ? { user: actor } : actor;
}

/** Option checks throw ConfigError; a control call answers ControlError. */
function asControl<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ConfigError) throw new ControlError(error.message);
    throw error;
  }
}
