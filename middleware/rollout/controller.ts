import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Actor } from '../control/changes.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { PoolControl } from '../control/pool-control.js';
import { ConfigError, ControlError } from '../errors.js';
import type { Guard } from '../guard.js';
import type { SafeLogger } from '../logger.js';
import type { Pool } from '../pool/pool.js';
import { RolloutEngine, type Transition } from './engine.js';
import { addSecond, isEmptySecond, SOLO_FLEET, type RolloutFleet } from './fleet.js';
import { isCanary, judgedSteps, normalizePlan, type NormalizedPlan } from './plan.js';
import type { Rollout, RolloutEvent, RolloutResult, RolloutSnapshot } from './rollout.js';
import { ArmSplit } from './split.js';
import type { RolloutStateStore, StoredRollout, StoredTransition } from './state-store.js';

type CohortFn = (req: IncomingMessage) => string | undefined;

export interface RolloutControllerOptions {
  pool: Pool;
  control: PoolControl;
  plane: ControlPlane;
  states: RolloutStateStore;
  /** The instances sharing this pool's rollout; `SOLO_FLEET` by default. */
  fleet?: RolloutFleet;
  guard: Guard;
  logger: SafeLogger;
  emit(event: RolloutEvent): void;
  /** How often the rollout's clock ticks. Default 1000. */
  tickMs?: number;
}

/** The audit's actor for the controller's own decisions. */
const CONTROLLER: Actor = { user: 'rollout' };
/** Compare-and-set attempts before an operator call gives up with CONFLICT. */
const ATTEMPTS = 5;

/** Running or paused, or finished with its final action still to do: the pool has a rollout. */
function isActive(stored: StoredRollout): boolean {
  return stored.engine.status === 'running' || stored.engine.status === 'paused' || stored.finalStage !== 'done';
}

/**
 * Runs one pool's rollout: splits the pool into arms, feeds the judge one second at a time,
 * moves through the steps, and ends with a promotion (baseline drained and removed) or a
 * rollback (canary disabled). Every transition is stored first, then audited and emitted.
 *
 * With a shared store every instance serving the pool runs the same rollout: the one holding
 * the rollout's lease leads (judges the fleet's seconds and saves), the others send it their
 * counts and follow the stored state. Operator calls work on any instance (compare and set on
 * the stored state), and when the leader goes another instance takes the lease and goes on.
 */
export class RolloutController {
  readonly #o: RolloutControllerOptions & { fleet: RolloutFleet };
  #current: Running | undefined;
  #cohortFn: CohortFn | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = false;
  #failing = false;

  constructor(options: RolloutControllerOptions) {
    this.#o = { ...options, fleet: options.fleet ?? SOLO_FLEET };
  }

  get current(): Rollout | undefined {
    return this.#current?.handle;
  }

  snapshot(): RolloutSnapshot | undefined {
    return this.#current?.snapshot();
  }

  /** The cohort function for rollouts this instance did not start (another instance's, or before a restart). */
  useCohort(fn: CohortFn | undefined): void {
    this.#cohortFn = fn;
    this.#current?.useCohort(fn);
  }

  /** Start a rollout; CONFLICT while another is active in this pool, on any instance. */
  async start(input: unknown, actor?: Actor): Promise<Rollout> {
    let normalized;
    try {
      normalized = normalizePlan(input);
    } catch (error) {
      throw new ControlError((error as ConfigError).message);
    }
    const { plan, keyFn } = normalized;
    const pool = this.#o.pool.name;
    if (this.#current && !this.#current.settled) throw new ControlError(`pool "${pool}" already has rollout ${this.#current.id} (${this.#current.engine.status})`, { code: 'CONFLICT', current: this.#current.snapshot() });
    const found = await this.#o.states.load(pool);
    if (found && isActive(found)) throw new ControlError(`pool "${pool}" already has rollout ${found.id} (${found.engine.status})`, { code: 'CONFLICT', current: found });
    const { canary, baseline } = this.#arms(plan);
    const now = Date.now();
    const { engine, transition } = RolloutEngine.start(plan, now);
    const who = actor ?? { user: 'code' };
    const id = randomBytes(6).toString('hex');
    const instance = this.#o.plane.instanceId;
    const stored: StoredRollout = {
      id, pool, plan, canary, baseline, startedAt: now, startedBy: who.user, engine: engine.state, finalStage: 'pending', updatedAt: now,
      version: found?.version ?? 0, leader: instance, last: lastOf(transition, who, instance),
    };
    const version = await this.#o.states.save(stored);
    if (version === undefined) throw new ControlError(`pool "${pool}": another rollout was started at the same moment`, { code: 'CONFLICT' });
    const running = new Running(this.#o, { ...stored, version }, engine, keyFn ?? this.#cohortFn);
    this.#current = running;
    running.announceLast();
    this.#ensureTimer();
    await running.begin();
    return running.handle;
  }

  /**
   * Pick up the pool's stored rollout: after a restart, or one another instance started or
   * led. A shared store is polled every tick from here on, so new rollouts are found too.
   */
  async resume(): Promise<void> {
    if (this.#stopped) return;
    if (this.#o.fleet.shared) this.#ensureTimer();
    if (this.#current && !this.#current.settled) return;
    const stored = await this.#o.states.load(this.#o.pool.name);
    if (!stored || stored.id === this.#current?.id || !isActive(stored)) return;
    if (this.#stopped || (this.#current && !this.#current.settled)) return;
    if (stored.plan.cohort === 'function' && !this.#cohortFn) this.#o.logger.warn(`rollout ${stored.id} of pool "${stored.pool}" goes on here without its cohort function (pool.useRolloutCohort): requests take a random arm by share`, { pool: stored.pool });
    this.#current = new Running(this.#o, stored, new RolloutEngine(stored.plan, stored.engine), this.#cohortFn);
    this.#ensureTimer();
  }

  /** Stop the clock for good (balancer.close()); the stored state stays for whoever comes next, and the lead is let go. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
    await this.#current?.stop();
  }

  #ensureTimer(): void {
    if (this.#timer || this.#stopped) return;
    this.#schedule();
  }

  /**
   * Ticks fall on the wall clock's seconds, the leader's half a second after the followers', so
   * that the seconds followers send are in Redis when the leader reads them (one tick, not two).
   */
  #schedule(): void {
    const tickMs = this.#o.tickMs ?? 1000;
    const phase = this.#o.fleet.shared && this.#current?.leading ? tickMs / 2 : 0;
    let delay = (phase - (Date.now() % tickMs) + tickMs) % tickMs;
    if (delay < tickMs / 4) delay += tickMs;
    this.#timer = setTimeout(() => {
      this.#tick = this.#run().finally(() => {
        this.#tick = undefined;
        if (!this.#stopped) this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    try {
      await this.#current?.tick();
      if (this.#o.fleet.shared && !this.#stopped) await this.resume();
      if (this.#failing) this.#o.logger.info(`pool "${this.#o.pool.name}": the rollout's store answers again`, { pool: this.#o.pool.name });
      this.#failing = false;
    } catch (error) {
      // once per outage: the rollout holds its step until its state can be stored again
      if (!this.#failing) this.#o.logger.warn(`pool "${this.#o.pool.name}": the rollout's state cannot be read or stored; it holds where it is`, { pool: this.#o.pool.name, error: String(error) });
      this.#failing = true;
    }
  }

  #arms(plan: NormalizedPlan): { canary: string[]; baseline: string[] } {
    const records = this.#o.plane.records(this.#o.pool.name).filter((record) => record.admin !== 'removing');
    const { ids } = plan.canary;
    if (ids) for (const id of ids) if (!records.some((record) => record.id === id)) throw new ControlError(`no server "${id}" in pool "${this.#o.pool.name}"`, { code: 'NOT_FOUND' });
    const canary = records.filter((record) => isCanary(plan.canary, record)).map((record) => record.id);
    const baseline = records.filter((record) => !isCanary(plan.canary, record) && !record.backup).map((record) => record.id);
    if (canary.length === 0) throw new ControlError(`no server of pool "${this.#o.pool.name}" matches the canary ${JSON.stringify(plan.canary)}`, { code: 'NOT_FOUND' });
    if (baseline.length === 0) throw new ControlError(`pool "${this.#o.pool.name}" has no baseline server besides the canary`);
    return { canary, baseline };
  }
}

/** One rollout as this instance runs it: leading (judging and saving) or following the stored state. */
class Running {
  readonly id: string;
  readonly handle: Rollout;
  readonly #o: RolloutControllerOptions & { fleet: RolloutFleet };
  readonly #split: ArmSplit;
  #engine: RolloutEngine;
  #stored: StoredRollout;
  /** Every change of state goes through here, one at a time, so no save races another of ours. */
  #queue: Promise<unknown> = Promise.resolve();
  #leading = false;
  #finishing = false;
  #settled = false;
  #stopped = false;
  #resolve!: (result: RolloutResult) => void;

  constructor(options: RolloutControllerOptions & { fleet: RolloutFleet }, stored: StoredRollout, engine: RolloutEngine, keyFn: CohortFn | undefined) {
    this.id = stored.id;
    this.#o = options;
    this.#stored = stored;
    this.#engine = engine;
    const done = new Promise<RolloutResult>((resolve) => (this.#resolve = resolve));
    const pool = options.pool;
    this.#split = new ArmSplit({
      canary: stored.canary, cohort: stored.plan.cohort, keyFn, algorithm: pool.algorithm,
      algorithmName: typeof pool.config.algorithm === 'string' ? pool.config.algorithm : undefined,
      balanceFactor: pool.config.hash.balanceFactor, guard: options.guard, poolName: pool.name,
    });
    this.#split.share = engine.share;
    if (engine.status !== 'aborted') pool.useSplit(this.#split);
    const self = this;
    const call = (op: (engine: RolloutEngine, now: number, by: string) => Transition | undefined, actor: string | Actor | undefined): Promise<void> => {
      const who = typeof actor === 'string' ? { user: actor } : actor ?? { user: 'code' };
      return this.#operate((engine, now) => op(engine, now, who.user), who);
    };
    this.handle = {
      id: stored.id,
      pool: stored.pool,
      get status() {
        return self.#engine.status;
      },
      done,
      pause: (o) => call((engine, now, by) => engine.pause(now, `paused by ${by}`), o?.actor),
      resume: (o) => call((engine, now, by) => engine.resume(now, `resumed by ${by}`), o?.actor),
      promote: (o) => call((engine, now, by) => engine.promote(now, `promoted by ${by}`), o?.actor),
      abort: (o) => call((engine, _now, by) => engine.abort(o?.reason ?? `aborted by ${by}`), o?.actor),
      snapshot: () => this.snapshot(),
    };
  }

  get engine(): RolloutEngine {
    return this.#engine;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Nothing left to do here: finished, and its final action done. */
  get settled(): boolean {
    return this.#settled;
  }

  useCohort(fn: CohortFn | undefined): void {
    if (this.#stored.plan.cohort === 'function') this.#split.useKey(fn);
  }

  /** Just started here: take the lead at once (the starter usually leads); a plan that starts at 100% finishes now. */
  begin(): Promise<void> {
    return this.#serial(async () => {
      await this.#lead();
      if (this.#leading && this.#engine.finished) void this.finish(undefined);
    });
  }

  /**
   * One second. The leader folds its own counts and the followers' into the judge and saves
   * what came of it; a follower sends its counts and takes up the stored state.
   */
  tick(): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      if (this.#settled) return this.#letGo();
      await this.#lead();
      const second = this.#split.takeSecond();
      if (!this.#leading) {
        if (!isEmptySecond(second)) this.#o.fleet.contribute(this.id, second);
        return this.#refresh(false);
      }
      const fleet = await this.#o.fleet.collect(this.id);
      if (fleet) addSecond(second, fleet);
      for (let attempt = 0; attempt < ATTEMPTS && !this.#engine.finished; attempt++) {
        const transition = this.#engine.tick(Date.now(), second);
        if (await this.#save(transition ? { last: lastOf(transition, CONTROLLER, this.#instance) } : {})) {
          if (transition) this.#after(undefined);
          break;
        }
        // an operator's call on another instance came first: judge this second on top of it
        await this.#refresh(true);
      }
      if (this.#engine.finished && this.#stored.finalStage !== 'done') void this.finish(undefined);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#queue;
    await this.#o.fleet.release();
    this.#leading = false;
  }

  /** An operator's call, on the newest stored state; retried when another instance saved in between. */
  #operate(op: (engine: RolloutEngine, now: number) => Transition | undefined, actor: Actor): Promise<void> {
    return this.#serial(async () => {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        await this.#refresh(attempt > 0);
        const transition = op(this.#engine, Date.now());
        if (!transition) {
          if (this.#engine.finished) throw new ControlError(`rollout ${this.id} is already ${this.#engine.status}`, { code: 'CONFLICT' });
          return;
        }
        if (await this.#save({ last: lastOf(transition, actor, this.#instance) })) {
          this.#after(actor);
          return;
        }
      }
      throw new ControlError(`rollout ${this.id} kept changing on other instances; try again`, { code: 'CONFLICT' });
    });
  }

  /** A transition of ours was stored: split, announce, and the final action if we lead. */
  #after(actor: Actor | undefined): void {
    this.#split.share = this.#engine.share;
    this.announceLast();
    // a follower leaves the final action to the leader, which sees the finished state on its next tick
    if (this.#engine.finished && this.#leading) void this.finish(actor);
  }

  async #lead(): Promise<void> {
    const was = this.#leading;
    this.#leading = await this.#o.fleet.lead();
    if (this.#o.fleet.shared && this.#leading !== was) {
      this.#o.logger.info(`instance ${this.#instance} ${this.#leading ? 'leads' : 'no longer leads'} rollout ${this.id} of pool "${this.#stored.pool}"`, { pool: this.#stored.pool });
    }
  }

  async #letGo(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    await this.#o.fleet.release();
  }

  /** Store the engine's state over the version we read; false when someone else saved first. */
  async #save(extra: Partial<StoredRollout> = {}): Promise<boolean> {
    const next: StoredRollout = { ...this.#stored, ...extra, engine: this.#engine.state, updatedAt: Date.now(), leader: this.#leading ? this.#instance : this.#stored.leader };
    let version;
    try {
      version = await this.#o.states.save(next);
    } catch (error) {
      // the engine may hold a change that was never stored: the next read replaces it
      this.#stored = { ...this.#stored, version: -1 };
      throw error;
    }
    if (version === undefined) return false;
    this.#stored = { ...next, version };
    return true;
  }

  /** Take up the stored state when it is newer than ours (or always, after a failed save). */
  async #refresh(force: boolean): Promise<void> {
    const stored = await this.#o.states.load(this.#stored.pool);
    if (!stored) {
      // the store lost it (emptied): the leader writes it back, from what it holds
      if (this.#leading) await this.#save({ version: 0 });
      return;
    }
    if (stored.id !== this.id) return this.#settle();
    if (!force && stored.version === this.#stored.version) return;
    const before = this.#stored.last;
    this.#stored = stored;
    this.#engine = new RolloutEngine(stored.plan, stored.engine);
    this.#split.share = this.#engine.share;
    const last = stored.last;
    // what another instance did, as this one's listeners and audit log see it
    if (last && last.instance !== this.#instance && (last.at !== before?.at || last.type !== before.type)) this.#record(last);
    if (stored.finalStage === 'done') this.#settle();
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  get #instance(): string {
    return this.#o.plane.instanceId;
  }

  /** Audit and emit the transition we just stored. */
  announceLast(): void {
    if (this.#stored.last) this.#record(this.#stored.last);
  }

  #record(t: StoredTransition): void {
    const pool = this.#stored.pool;
    const event: RolloutEvent = { pool, id: this.id, type: t.type, status: this.#engine.status, step: t.step, share: t.share, reason: t.reason, verdict: t.verdict ?? undefined, user: t.user, at: t.at };
    this.#o.plane.audit.recordRollout({
      at: t.at, actor: { user: t.user, ...(t.address ? { address: t.address } : {}) }, revision: this.#o.plane.revision, pool, server: this.#stored.canary.join(','),
      before: null, after: { rollout: this.id, event: t.type, step: t.step + 1, share: t.share, reason: t.reason, instance: t.instance },
    });
    this.#o.emit(event);
  }

  /** The final action, by the leader: on abort, disable the canary; on completion, drain and remove the baseline (`promote`). */
  async finish(actor: Actor | undefined): Promise<void> {
    // a closing instance leaves it to the next leader: its control plane is about to close
    if (this.#finishing || this.#settled || this.#stopped) return;
    this.#finishing = true;
    const { control, pool } = this.#o;
    const who = { actor: actor ?? CONTROLLER };
    const present = (id: string, unless?: string): boolean => control.records().some((record) => record.id === id && record.admin !== unless);
    try {
      if (this.#engine.status === 'aborted') {
        // disabled before the split goes: no request may reach the canary in between
        for (const id of this.#stored.canary) if (present(id, 'disabled')) await control.disable(id, who);
      } else if (this.#stored.plan.final === 'promote') {
        await this.#storeFinal('promoting');
        // the split stays at 100 %: sessions on baseline servers move at their next request
        const drainMs = this.#stored.plan.drainMs ?? pool.config.drainTimeoutMs;
        await Promise.all(this.#stored.baseline.filter((id) => present(id)).map((id) => control.removeServer(id, drainMs, who).catch(() => undefined)));
      }
      await this.#storeFinal('done');
    } catch (error) {
      this.#o.logger.error(`rollout ${this.id}: its final action failed`, { error: String(error) });
      this.#finishing = false; // the next tick (here or on the next leader) tries again
      return;
    }
    this.#settle();
  }

  #storeFinal(finalStage: StoredRollout['finalStage']): Promise<void> {
    return this.#serial(async () => {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (await this.#save({ finalStage })) return;
        await this.#refresh(true);
      }
      throw new ControlError(`rollout ${this.id}: its final stage could not be stored`, { code: 'CONFLICT' });
    });
  }

  /** Finished for good: the pool goes back to balancing over everyone, and `done` resolves. */
  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#o.pool.split === this.#split) this.#o.pool.useSplit(undefined);
    const state = this.#engine.state;
    this.#resolve({ status: state.status === 'aborted' ? 'aborted' : 'completed', reason: state.reason, decision: state.decision });
  }

  snapshot(): RolloutSnapshot {
    const state = this.#engine.state;
    const window = this.#engine.window();
    const pinned = { canary: 0, baseline: 0 };
    for (const server of this.#o.pool.servers) pinned[this.#split.armOf(server)] += server.pinned;
    const total = window.canary.requests + window.baseline.requests;
    const plan = this.#stored.plan;
    return {
      id: this.id, pool: this.#stored.pool, status: state.status, finalStage: this.#stored.finalStage,
      step: state.step, steps: plan.steps, share: this.#engine.share,
      measuredShare: total > 0 ? (100 * window.canary.requests) / total : 0,
      bakeLeftMs: this.#engine.finished ? 0 : this.#engine.bakeLeft(Date.now()), extensions: state.extensions,
      canary: { servers: this.#stored.canary, pinned: pinned.canary, window: window.canary },
      baseline: { servers: this.#stored.baseline, pinned: pinned.baseline, window: window.baseline },
      eValue: window.eValue, eThreshold: judgedSteps(plan) / (1 - plan.analysis.confidence),
      reason: state.reason, decision: state.decision, cohort: plan.cohort, analysis: plan.analysis, final: plan.final,
      history: state.history, startedAt: this.#stored.startedAt, startedBy: this.#stored.startedBy,
      leader: this.#leading, leaderInstance: this.#stored.leader,
    };
  }
}

function lastOf(transition: Transition, actor: Actor, instance: string): StoredTransition {
  return { type: transition.type, step: transition.step, share: transition.share, reason: transition.reason, user: actor.user, ...(actor.address ? { address: actor.address } : {}), instance, at: Date.now(), verdict: transition.verdict ?? null };
}
