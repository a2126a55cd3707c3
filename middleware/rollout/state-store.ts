import type { Awaitable } from '../affinity/store.js';
import type { EngineState, TransitionType } from './engine.js';
import type { Verdict } from './judge/index.js';
import type { NormalizedPlan } from './plan.js';

/** After the last step: baseline servers being removed (`promoting`), or nothing left to do. */
export type FinalStage = 'pending' | 'promoting' | 'done';

/** The latest transition, stored so that every instance can announce what another one did. */
export interface StoredTransition {
  readonly type: TransitionType;
  readonly step: number;
  readonly share: number;
  readonly reason: string;
  readonly user: string;
  readonly address?: string;
  readonly instance: string;
  readonly at: number;
  readonly verdict: Verdict | null;
}

/** A rollout as stored: everything another instance (or this one, restarted) needs to go on. */
export interface StoredRollout {
  readonly id: string;
  readonly pool: string;
  readonly plan: NormalizedPlan;
  readonly canary: readonly string[];
  readonly baseline: readonly string[];
  readonly startedAt: number;
  readonly startedBy: string;
  readonly engine: EngineState;
  readonly finalStage: FinalStage;
  readonly updatedAt: number;
  /** Bumped by every save; a save must name the version it read (compare and set). */
  readonly version: number;
  /** The instance that last saved while leading the rollout's clock. */
  readonly leader: string;
  readonly last: StoredTransition | null;
}

/**
 * Where rollouts live between ticks and restarts, one current rollout per pool. `save` is a
 * compare and set: it writes only over the version `rollout.version` names, answering the new
 * version, or `undefined` when someone saved in between (read again, then decide again).
 */
export interface RolloutStateStore {
  load(pool: string): Awaitable<StoredRollout | undefined>;
  save(rollout: StoredRollout): Awaitable<number | undefined>;
}

/**
 * Rollouts kept beside an in-memory control store: a balancer created again on the same
 * `MemoryControlStore` (a restart within one process, as tests do) finds them. Plain JSON copies,
 * so no instance shares objects with another.
 */
export class MemoryRolloutStates implements RolloutStateStore {
  readonly #rollouts = new Map<string, string>();

  load(pool: string): StoredRollout | undefined {
    const json = this.#rollouts.get(pool);
    return json === undefined ? undefined : (JSON.parse(json) as StoredRollout);
  }

  save(rollout: StoredRollout): number | undefined {
    if ((this.load(rollout.pool)?.version ?? 0) !== rollout.version) return undefined;
    const version = rollout.version + 1;
    this.#rollouts.set(rollout.pool, JSON.stringify({ ...rollout, version }));
    return version;
  }
}

const beside = new WeakMap<object, MemoryRolloutStates>();

/** The rollout states kept beside this control store (created on first use). */
export function rolloutStatesFor(store: object | undefined): MemoryRolloutStates {
  if (!store) return new MemoryRolloutStates();
  let states = beside.get(store);
  if (!states) beside.set(store, (states = new MemoryRolloutStates()));
  return states;
}
