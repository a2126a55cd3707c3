import { RedisControlStore } from '../control/redis-store.js';
import type { ControlStore } from '../control/store.js';
import { SOLO_FLEET, type RolloutFleet } from './fleet.js';
import { RedisRolloutFleet, RedisRolloutStates } from './redis-rollouts.js';
import { rolloutStatesFor, type RolloutStateStore } from './state-store.js';

/** Where a balancer keeps its rollouts, and how its instances share them: over Redis with a Redis control store, else alone. */
export interface RolloutSharing {
  states: RolloutStateStore;
  fleet(pool: string): RolloutFleet;
}

export function rolloutSharing(store: ControlStore | undefined, instanceId: string): RolloutSharing {
  if (store instanceof RedisControlStore) return { states: new RedisRolloutStates(store), fleet: (pool) => new RedisRolloutFleet(store, pool, instanceId) };
  return { states: rolloutStatesFor(store), fleet: () => SOLO_FLEET };
}
