import { addBuckets, emptyBuckets, fromSparse, sparse } from './histogram.js';
import { judgeBake, judgeContinuous, newErrorTest, observeSecond, summarize, type ArmSummary, type ArmWindow, type ErrorTest, type Verdict } from './judge/index.js';
import { judgedSteps, type NormalizedPlan } from './plan.js';

export type RolloutStatus = 'running' | 'paused' | 'aborted' | 'completed';

/** One second of traffic as the arms saw it (summed over instances when shared). */
export interface Second {
  canary: ArmWindow;
  baseline: ArmWindow;
}

/** One point of the rollout's chart: a few seconds of both arms. */
export interface HistoryPoint {
  at: number;
  share: number;
  canary: ArmSummary;
  baseline: ArmSummary;
}

/** What changed, for events and the audit log. */
export type TransitionType = 'start' | 'step' | 'extend' | 'pause' | 'resume' | 'promote' | 'abort' | 'complete';

export interface Transition {
  type: TransitionType;
  /** The step now current (index into the plan). */
  step: number;
  share: number;
  reason: string;
  verdict: Verdict | undefined;
}

/** The rollout as data: what is stored so that another instance, or this one restarted, goes on. */
export interface EngineState {
  status: RolloutStatus;
  step: number;
  /** Epoch ms the current step's bake began (moved forward by pauses). */
  stepStartedAt: number;
  /** This step's bake, extensions included. */
  bakeMs: number;
  extensions: number;
  pausedAt: number | null;
  /** Why it is paused, aborted or done. */
  reason: string;
  decision: Verdict | null;
  /** The sequential error test of this step (log ratios) and the step's arm windows. */
  errorLogs: number[];
  window: { canary: StoredArm; baseline: StoredArm };
  /** Canary requests and errors of the last seconds, oldest first (the guardrail's window). */
  recent: Array<[number, number]>;
  history: HistoryPoint[];
}

/** An arm's window as plain JSON: sparse latency buckets (stored, and sent between instances). */
export interface StoredArm {
  requests: number;
  errors: number;
  buckets: Array<[number, number]>;
}

const HISTORY_POINTS = 240;
const HISTORY_EVERY_S = 5;

/**
 * The rollout's step machine, pure: fed one second of per-arm counts at a time (`tick`), and the
 * operator's calls, it answers transitions. No timers, no I/O: the controller runs it every
 * second, the simulator runs it in a loop over synthetic traffic.
 */
export class RolloutEngine {
  readonly plan: NormalizedPlan;
  readonly #alpha: number;
  #state: EngineState;
  #test: ErrorTest;
  #canary: ArmWindow;
  #baseline: ArmWindow;
  #chart: Second = { canary: emptyArm(), baseline: emptyArm() };
  #chartSeconds = 0;

  constructor(plan: NormalizedPlan, state: EngineState) {
    this.plan = plan;
    this.#alpha = (1 - plan.analysis.confidence) / judgedSteps(plan);
    this.#state = state;
    this.#test = newErrorTest(plan.analysis.errorRatio, state.errorLogs);
    this.#canary = loadArm(state.window.canary);
    this.#baseline = loadArm(state.window.baseline);
  }

  /** A new rollout at its first step. */
  static start(plan: NormalizedPlan, now: number): { engine: RolloutEngine; transition: Transition } {
    const first = plan.steps[0]!;
    const engine = new RolloutEngine(plan, {
      status: 'running', step: 0, stepStartedAt: now, bakeMs: first.bakeMs, extensions: 0, pausedAt: null,
      reason: '', decision: null, errorLogs: [], window: { canary: storeArm(emptyArm()), baseline: storeArm(emptyArm()) }, recent: [], history: [],
    });
    const transition = engine.#transition('start', `step 1 of ${plan.steps.length}: ${first.share}% to the canary`);
    if (first.share >= 100) return { engine, transition: engine.#complete('the first step is 100%') };
    return { engine, transition };
  }

  /** The current state, as plain data to store. */
  get state(): EngineState {
    return { ...this.#state, errorLogs: [...this.#test.logs], window: { canary: storeArm(this.#canary), baseline: storeArm(this.#baseline) } };
  }

  get status(): RolloutStatus {
    return this.#state.status;
  }

  get step(): number {
    return this.#state.step;
  }

  /** The canary's share now, in percent: 0 once aborted, 100 once completed. */
  get share(): number {
    const { status, step } = this.#state;
    if (status === 'aborted') return 0;
    if (status === 'completed') return 100;
    return this.plan.steps[step]!.share;
  }

  get finished(): boolean {
    return this.#state.status === 'aborted' || this.#state.status === 'completed';
  }

  /** Milliseconds left in this step's bake (frozen while paused). */
  bakeLeft(now: number): number {
    const at = this.#state.pausedAt ?? now;
    return Math.max(0, this.#state.stepStartedAt + this.#state.bakeMs - at);
  }

  /** The step window so far, per arm. */
  window(): { canary: ArmSummary; baseline: ArmSummary; eValue: number } {
    return { canary: summarize(this.#canary), baseline: summarize(this.#baseline), eValue: Math.exp(this.#test.logs.length ? logMean(this.#test.logs) : 0) };
  }

  /**
   * One second: fold it in, judge, and move on when the bake is over. Paused rollouts still
   * judge (a bad canary is rolled back even while a person looks at it) but never advance.
   */
  tick(now: number, second: Second): Transition | undefined {
    if (this.finished) return undefined;
    const analysis = this.plan.analysis;
    addArm(this.#canary, second.canary);
    addArm(this.#baseline, second.baseline);
    observeSecond(this.#test, { canaryRequests: second.canary.requests, canaryErrors: second.canary.errors, baselineRequests: second.baseline.requests, baselineErrors: second.baseline.errors });
    const recent = this.#state.recent;
    recent.push([second.canary.requests, second.canary.errors]);
    while (recent.length > Math.round(analysis.guardrailWindowMs / 1000)) recent.shift();
    this.#chartPoint(now, second);
    let requests = 0;
    let errors = 0;
    for (const [r, e] of recent) {
      requests += r;
      errors += e;
    }
    const failed = judgeContinuous({ recent: { requests, errors }, canary: this.#canary, baseline: this.#baseline, test: this.#test, analysis, alpha: this.#alpha });
    if (failed) return this.#abort(failed.reason, failed);
    if (this.#state.status !== 'running' || this.bakeLeft(now) > 0) return undefined;
    const verdict = judgeBake({ canary: this.#canary, baseline: this.#baseline, test: this.#test, analysis, alpha: this.#alpha });
    this.#state.decision = verdict;
    if (verdict.kind === 'fail') return this.#abort(verdict.reason, verdict);
    if (verdict.kind === 'insufficient') {
      const action = analysis.onInsufficient;
      if (action === 'extend' && this.#state.extensions < analysis.maxExtensions) {
        this.#state.extensions++;
        this.#state.bakeMs += this.plan.steps[this.#state.step]!.bakeMs;
        return this.#transition('extend', `${verdict.reason}; bake extended (${this.#state.extensions} of ${analysis.maxExtensions})`, verdict);
      }
      if (action !== 'promote') return this.pause(now, `${verdict.reason}; paused for a decision`, verdict);
    }
    return this.#advance(now, verdict);
  }

  pause(now: number, reason = 'paused', verdict?: Verdict): Transition | undefined {
    if (this.#state.status !== 'running') return undefined;
    this.#state.status = 'paused';
    this.#state.pausedAt = now;
    this.#state.reason = reason;
    return this.#transition('pause', reason, verdict);
  }

  resume(now: number, reason = 'resumed'): Transition | undefined {
    if (this.#state.status !== 'paused') return undefined;
    this.#state.stepStartedAt += now - (this.#state.pausedAt ?? now);
    this.#state.pausedAt = null;
    this.#state.status = 'running';
    this.#state.reason = '';
    // a pause for too little traffic ends with a fresh bake's worth of it
    if (this.bakeLeft(now) === 0) this.#state.bakeMs += this.plan.steps[this.#state.step]!.bakeMs;
    return this.#transition('resume', reason);
  }

  /** Skip the rest of the plan: straight to 100 %. */
  promote(now: number, reason = 'promoted by hand'): Transition | undefined {
    if (this.finished) return undefined;
    void now;
    return this.#complete(reason, 'promote');
  }

  abort(reason = 'aborted by hand'): Transition | undefined {
    if (this.finished) return undefined;
    return this.#abort(reason, undefined);
  }

  #advance(now: number, verdict: Verdict): Transition {
    const next = this.#state.step + 1;
    const step = this.plan.steps[next];
    if (!step || step.share >= 100) return this.#complete(`every step passed; last: ${verdict.reason}`, 'complete', verdict);
    Object.assign(this.#state, { step: next, stepStartedAt: now, bakeMs: step.bakeMs, extensions: 0 });
    this.#test = newErrorTest(this.plan.analysis.errorRatio);
    this.#canary = emptyArm();
    this.#baseline = emptyArm();
    return this.#transition('step', `step ${next + 1} of ${this.plan.steps.length}: ${step.share}% to the canary (${verdict.reason})`, verdict);
  }

  #abort(reason: string, verdict: Verdict | undefined): Transition {
    Object.assign(this.#state, { status: 'aborted', pausedAt: null, reason, decision: verdict ?? this.#state.decision });
    return this.#transition('abort', reason, verdict);
  }

  #complete(reason: string, type: TransitionType = 'complete', verdict?: Verdict): Transition {
    Object.assign(this.#state, { status: 'completed', pausedAt: null, reason, step: this.plan.steps.length - 1 });
    return this.#transition(type, reason, verdict);
  }

  #transition(type: TransitionType, reason: string, verdict?: Verdict): Transition {
    return { type, step: this.#state.step, share: this.share, reason, verdict };
  }

  #chartPoint(now: number, second: Second): void {
    addArm(this.#chart.canary, second.canary);
    addArm(this.#chart.baseline, second.baseline);
    if (++this.#chartSeconds < HISTORY_EVERY_S) return;
    const history = this.#state.history;
    history.push({ at: now, share: this.share, canary: summarize(this.#chart.canary), baseline: summarize(this.#chart.baseline) });
    if (history.length > HISTORY_POINTS) history.splice(0, history.length - HISTORY_POINTS);
    this.#chart = { canary: emptyArm(), baseline: emptyArm() };
    this.#chartSeconds = 0;
  }
}

export function emptyArm(): ArmWindow {
  return { requests: 0, errors: 0, buckets: emptyBuckets() };
}

export function addArm(into: ArmWindow, from: ArmWindow): void {
  into.requests += from.requests;
  into.errors += from.errors;
  addBuckets(into.buckets, from.buckets);
}

export function storeArm(arm: ArmWindow): StoredArm {
  return { requests: arm.requests, errors: arm.errors, buckets: sparse(arm.buckets) };
}

export function loadArm(arm: StoredArm | undefined): ArmWindow {
  return arm ? { requests: arm.requests, errors: arm.errors, buckets: fromSparse(arm.buckets) } : emptyArm();
}

function logMean(logs: readonly number[]): number {
  const max = Math.max(...logs);
  return max + Math.log(logs.reduce((sum, v) => sum + Math.exp(v - max), 0) / logs.length);
}
