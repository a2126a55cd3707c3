import type { PoolConfig } from '../options.js';
import type { Server } from '../pool/server.js';
import type { SharedHealthHooks } from './health-leader.js';
import { RedisControlStore } from './redis-store.js';
import type { ControlStore } from './store.js';

/** With a Redis control store and active checks, one instance leads the pool's checks; otherwise every instance checks for itself. */
export function sharedHealth(store: ControlStore | undefined, config: PoolConfig, instanceId: string, servers: () => readonly Server[]): SharedHealthHooks | undefined {
  if (!(store instanceof RedisControlStore) || !config.healthCheck) return undefined;
  return store.healthLeader(config.name, instanceId, config.healthCheck.intervalMs, servers);
}
