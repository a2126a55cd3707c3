import type { Awaitable } from '../affinity/store.js';
import type { EngineState } from './engine.js';
import type { NormalizedPlan } from './plan.js';

/** After the last step: baseline servers being removed (`promoting`), or nothing left to do. */
export type FinalStage = 'pending' | 'promoting' | 'done';

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
}

/** Where rollouts live between ticks and restarts. One current rollout per pool. */
export interface RolloutStateStore {
  load(pool: string): Awaitable<StoredRollout | undefined>;
  save(rollout: StoredRollout): Awaitable<void>;
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

  save(rollout: StoredRollout): void {
    this.#rollouts.set(rollout.pool, JSON.stringify(rollout));
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
