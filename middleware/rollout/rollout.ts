import type { ArmSummary, Verdict } from './judge/index.js';
import type { HistoryPoint, RolloutStatus, TransitionType } from './engine.js';
import type { NormalizedPlan } from './plan.js';
import type { FinalStage } from './state-store.js';

/** `balancer.on('rollout', (event) => …)`: one per transition. */
export interface RolloutEvent {
  pool: string;
  id: string;
  type: TransitionType;
  status: RolloutStatus;
  /** The step now current (0-based) and the canary's share in percent. */
  step: number;
  share: number;
  reason: string;
  verdict: Verdict | undefined;
  /** Who asked (`rollout` for the controller's own decisions). */
  user: string;
  at: number;
}

/** A rollout's state, as the snapshot, the dashboard and `rollout.snapshot()` give it. */
export interface RolloutSnapshot {
  id: string;
  pool: string;
  status: RolloutStatus;
  finalStage: FinalStage;
  step: number;
  steps: NormalizedPlan['steps'];
  share: number;
  /** The canary's measured share of this step's requests, in percent. */
  measuredShare: number;
  bakeLeftMs: number;
  extensions: number;
  canary: { servers: readonly string[]; pinned: number; window: ArmSummary };
  baseline: { servers: readonly string[]; pinned: number; window: ArmSummary };
  eValue: number;
  /** The sequential test aborts at this e-value (1/α for the step). */
  eThreshold: number;
  reason: string;
  decision: Verdict | null;
  cohort: string;
  analysis: NormalizedPlan['analysis'];
  final: NormalizedPlan['final'];
  history: HistoryPoint[];
  startedAt: number;
  startedBy: string;
  /** This instance leads the rollout: runs its clock, judges and saves (true without a shared store, once it ticked). */
  leader: boolean;
  /** The instance that leads it, as last stored. */
  leaderInstance: string;
}

/** Who made a call, for the audit log: a user name, or the user and the address it came from. */
export type RolloutActor = string | { user: string; address?: string };

/** What `await rollout.done` answers. */
export interface RolloutResult {
  status: 'aborted' | 'completed';
  reason: string;
  decision: Verdict | null;
}

/**
 * A running rollout, as `await pool.rollout(plan)` answers it. Every call is a transition that
 * is stored, audited and emitted as a `rollout` event; each resolves once it has been stored.
 *
 * @example
 * const rollout = await balancer.pool('api').rollout({ canary: { label: { version: 'v2' } }, steps: [{ share: 5, bakeMs: 60_000 }, { share: 100 }] });
 * balancer.on('rollout', (event) => log(event.type, event.reason));
 * const { status } = await rollout.done;   // 'completed' or 'aborted'
 */
export interface Rollout {
  readonly id: string;
  readonly pool: string;
  readonly status: RolloutStatus;
  /** Resolves when the rollout is completed (baseline removed, with `final: 'promote'`) or aborted. */
  readonly done: Promise<RolloutResult>;
  /** Stop advancing (the judge keeps watching: a bad canary is still rolled back). */
  pause(options?: { actor?: RolloutActor }): Promise<void>;
  resume(options?: { actor?: RolloutActor }): Promise<void>;
  /** Skip the remaining steps: the canary takes everything, then the final action. */
  promote(options?: { actor?: RolloutActor }): Promise<void>;
  /** Roll back: the canary servers are disabled and their sessions move to the baseline. */
  abort(options?: { actor?: RolloutActor; reason?: string }): Promise<void>;
  snapshot(): RolloutSnapshot;
}
