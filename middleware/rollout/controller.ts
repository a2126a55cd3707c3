import { randomBytes } from 'node:crypto';
import type { Actor } from '../control/changes.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { PoolControl } from '../control/pool-control.js';
import { ControlError } from '../errors.js';
import type { Guard } from '../guard.js';
import type { SafeLogger } from '../logger.js';
import type { Pool } from '../pool/pool.js';
import { RolloutEngine, type Transition } from './engine.js';
import { isCanary, judgedSteps, normalizePlan, type NormalizedPlan } from './plan.js';
import type { Rollout, RolloutEvent, RolloutResult, RolloutSnapshot } from './rollout.js';
import { ArmSplit } from './split.js';
import type { RolloutStateStore, StoredRollout } from './state-store.js';
import type { ConfigError } from '../errors.js';

export interface RolloutControllerOptions {
  pool: Pool;
  control: PoolControl;
  plane: ControlPlane;
  states: RolloutStateStore;
  guard: Guard;
  logger: SafeLogger;
  emit(event: RolloutEvent): void;
  /** How often the rollout's clock ticks. Default 1000. */
  tickMs?: number;
}

const CONTROLLER = 'rollout';

/**
 * Runs one pool's rollout: splits the pool into arms, feeds the judge one second at a time,
 * moves through the steps, and ends with a promotion (baseline drained and removed) or a
 * rollback (canary disabled). Every transition is stored first, then audited and emitted.
 */
export class RolloutController {
  readonly #o: RolloutControllerOptions;
  #current: Running | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: RolloutControllerOptions) {
    this.#o = options;
  }

  get current(): Rollout | undefined {
    return this.#current?.handle;
  }

  snapshot(): RolloutSnapshot | undefined {
    return this.#current?.snapshot();
  }

  /** Start a rollout; CONFLICT while another runs in this pool. */
  async start(input: unknown, actor?: Actor): Promise<Rollout> {
    let normalized;
    try {
      normalized = normalizePlan(input);
    } catch (error) {
      throw new ControlError((error as ConfigError).message);
    }
    const { plan, keyFn } = normalized;
    const stored = await this.#o.states.load(this.#o.pool.name);
    if (this.#current && !this.#current.engine.finished) throw new ControlError(`pool "${this.#o.pool.name}" already has rollout ${this.#current.id} (${this.#current.engine.status})`, { code: 'CONFLICT', current: this.#current.snapshot() });
    if (stored && !this.#current && (stored.engine.status === 'running' || stored.engine.status === 'paused')) throw new ControlError(`pool "${this.#o.pool.name}" already has rollout ${stored.id} (${stored.engine.status})`, { code: 'CONFLICT', current: stored });
    const { canary, baseline } = this.#arms(plan);
    const now = Date.now();
    const { engine, transition } = RolloutEngine.start(plan, now);
    const id = randomBytes(6).toString('hex');
    const running = new Running(this, this.#o, { id, pool: this.#o.pool.name, plan, canary, baseline, startedAt: now, startedBy: actor?.user ?? 'code', engine: engine.state, finalStage: 'pending', updatedAt: now }, engine, keyFn);
    this.#current = running;
    await running.save();
    running.announce(transition, actor ?? { user: 'code' });
    this.#ensureTimer();
    if (engine.finished) void running.finish(actor);
    return running.handle;
  }

  /** Pick up a stored rollout (a restart, or the leader that ran it is gone). */
  async resume(): Promise<void> {
    if (this.#current || this.#stopped) return;
    const stored = await this.#o.states.load(this.#o.pool.name);
    if (!stored || this.#current || this.#stopped) return;
    const live = stored.engine.status === 'running' || stored.engine.status === 'paused';
    if (!live && stored.finalStage !== 'promoting') return;
    const engine = new RolloutEngine(stored.plan, stored.engine);
    if (stored.plan.cohort === 'function') this.#o.logger.warn(`rollout ${stored.id} of pool "${stored.pool}" resumed without its cohort function: requests take a random arm by share`, { pool: stored.pool });
    const running = new Running(this, this.#o, stored, engine, undefined);
    this.#current = running;
    this.#ensureTimer();
    if (engine.finished) void running.finish(undefined);
  }

  /** Stop the clock for good (balancer.close()); the stored state stays for whoever comes next. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #ensureTimer(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.#current?.tick(), this.#o.tickMs ?? 1000);
    this.#timer.unref();
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

/** One rollout being run here. */
class Running {
  readonly id: string;
  readonly engine: RolloutEngine;
  readonly handle: Rollout;
  readonly #o: RolloutControllerOptions;
  readonly #split: ArmSplit;
  #stored: StoredRollout;
  #saving: Promise<void> = Promise.resolve();
  #resolve!: (result: RolloutResult) => void;
  readonly #done: Promise<RolloutResult>;
  #finishing = false;

  constructor(controller: RolloutController, options: RolloutControllerOptions, stored: StoredRollout, engine: RolloutEngine, keyFn: ((req: import('node:http').IncomingMessage) => string | undefined) | undefined) {
    void controller;
    this.id = stored.id;
    this.#o = options;
    this.#stored = stored;
    this.engine = engine;
    this.#done = new Promise((resolve) => (this.#resolve = resolve));
    const pool = options.pool;
    this.#split = new ArmSplit({
      canary: stored.canary, cohort: stored.plan.cohort, keyFn, algorithm: pool.algorithm,
      algorithmName: typeof pool.config.algorithm === 'string' ? pool.config.algorithm : undefined,
      balanceFactor: pool.config.hash.balanceFactor, guard: options.guard, poolName: pool.name,
    });
    this.#split.share = engine.share;
    if (!(engine.status === 'aborted')) pool.useSplit(this.#split);
    const self = this;
    const call = (fn: (now: number) => Transition | undefined, actor?: string): Promise<void> => this.#operate(fn, actor);
    this.handle = {
      id: stored.id,
      pool: stored.pool,
      get status() {
        return self.engine.status;
      },
      done: this.#done,
      pause: (o) => call((now) => engine.pause(now, `paused by ${o?.actor ?? 'code'}`), o?.actor),
      resume: (o) => call((now) => engine.resume(now, `resumed by ${o?.actor ?? 'code'}`), o?.actor),
      promote: (o) => call((now) => engine.promote(now, `promoted by ${o?.actor ?? 'code'}`), o?.actor),
      abort: (o) => call(() => engine.abort(o?.reason ?? `aborted by ${o?.actor ?? 'code'}`), o?.actor),
      snapshot: () => this.snapshot(),
    };
  }

  /** One second: the arms' counts to the judge; a transition is stored, then acted on. */
  async tick(): Promise<void> {
    if (this.engine.finished) return;
    const second = this.#split.takeSecond();
    const transition = this.engine.tick(Date.now(), second);
    await this.save();
    if (transition) this.#after(transition, undefined);
  }

  async #operate(fn: (now: number) => Transition | undefined, user: string | undefined): Promise<void> {
    const transition = fn(Date.now());
    if (!transition) {
      if (this.engine.finished) throw new ControlError(`rollout ${this.id} is already ${this.engine.status}`, { code: 'CONFLICT' });
      return;
    }
    await this.save();
    this.#after(transition, user ? { user } : { user: 'code' });
  }

  #after(transition: Transition, actor: Actor | undefined): void {
    this.#split.share = this.engine.share;
    this.announce(transition, actor);
    if (this.engine.finished) void this.finish(actor);
  }

  /** Store the engine's state (writes are chained, never interleaved). */
  save(extra: Partial<StoredRollout> = {}): Promise<void> {
    this.#stored = { ...this.#stored, ...extra, engine: this.engine.state, updatedAt: Date.now() };
    const snapshot = this.#stored;
    this.#saving = this.#saving.then(() => this.#o.states.save(snapshot)).catch((error: unknown) => this.#o.logger.error(`rollout ${this.id}: its state could not be stored`, { error: String(error) }));
    return this.#saving;
  }

  announce(transition: Transition, actor: Actor | undefined): void {
    const at = Date.now();
    const user = actor?.user ?? CONTROLLER;
    const event: RolloutEvent = { pool: this.#stored.pool, id: this.id, type: transition.type, status: this.engine.status, step: transition.step, share: transition.share, reason: transition.reason, verdict: transition.verdict, user, at };
    this.#o.plane.audit.recordRollout({
      at, actor: actor ?? { user: CONTROLLER }, revision: this.#o.plane.revision, pool: this.#stored.pool, server: this.#stored.canary.join(','),
      before: null, after: { rollout: this.id, event: transition.type, step: transition.step + 1, share: transition.share, reason: transition.reason },
    });
    this.#o.emit(event);
  }

  /** The final action: on abort, disable the canary; on completion, drain and remove the baseline (`promote`). */
  async finish(actor: Actor | undefined): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    const { control, pool } = this.#o;
    const who = { actor: actor ?? { user: CONTROLLER } };
    const status = this.engine.status;
    try {
      if (status === 'aborted') {
        // disabled before the split goes: no request may reach the canary in between
        for (const id of this.#stored.canary) if (control.records().some((r) => r.id === id)) await control.disable(id, who);
        pool.useSplit(undefined);
        await this.save({ finalStage: 'done' });
      } else if (this.#stored.plan.final === 'promote') {
        await this.save({ finalStage: 'promoting' });
        // the split stays at 100 %: sessions on baseline servers move at their next request
        const drainMs = this.#stored.plan.drainMs ?? pool.config.drainTimeoutMs;
        await Promise.all(this.#stored.baseline.filter((id) => control.records().some((r) => r.id === id)).map((id) => control.removeServer(id, drainMs, who).catch(() => undefined)));
        pool.useSplit(undefined);
        await this.save({ finalStage: 'done' });
      } else {
        pool.useSplit(undefined);
        await this.save({ finalStage: 'done' });
      }
    } catch (error) {
      this.#o.logger.error(`rollout ${this.id}: its final action failed`, { error: String(error) });
    }
    const state = this.engine.state;
    this.#resolve({ status: status === 'aborted' ? 'aborted' : 'completed', reason: state.reason, decision: state.decision });
  }

  snapshot(): RolloutSnapshot {
    const state = this.engine.state;
    const window = this.engine.window();
    const pinned = { canary: 0, baseline: 0 };
    for (const server of this.#o.pool.servers) pinned[this.#split.armOf(server)] += server.pinned;
    const total = window.canary.requests + window.baseline.requests;
    const plan = this.#stored.plan;
    return {
      id: this.id, pool: this.#stored.pool, status: state.status, finalStage: this.#stored.finalStage,
      step: state.step, steps: plan.steps, share: this.engine.share,
      measuredShare: total > 0 ? (100 * window.canary.requests) / total : 0,
      bakeLeftMs: this.engine.finished ? 0 : this.engine.bakeLeft(Date.now()), extensions: state.extensions,
      canary: { servers: this.#stored.canary, pinned: pinned.canary, window: window.canary },
      baseline: { servers: this.#stored.baseline, pinned: pinned.baseline, window: window.baseline },
      eValue: window.eValue, eThreshold: judgedSteps(plan) / (1 - plan.analysis.confidence),
      reason: state.reason, decision: state.decision, cohort: plan.cohort, analysis: plan.analysis, final: plan.final,
      history: state.history, startedAt: this.#stored.startedAt, startedBy: this.#stored.startedBy, leader: true,
    };
  }
}
