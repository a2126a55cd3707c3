import { ControlError } from '../errors.js';
import { RedisLease } from '../control/redis-lease.js';
import type { RedisControlStore } from '../control/redis-store.js';
import type { Second } from './engine.js';
import { sumWire, toWire, type RolloutFleet } from './fleet.js';
import type { RolloutStateStore, StoredRollout } from './state-store.js';

/** Write only over the version the writer read; answers the new version, or 0 on a conflict. */
const SAVE = `
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', version + 1, 'json', ARGV[2])
return version + 1`;

const LOAD = `return redis.call('HGET', KEYS[1], 'json')`;

/** A follower's second, kept bounded and short-lived when no leader reads them. */
const CONTRIBUTE = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

const COLLECT = `
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return entries`;

/** At most this many unread seconds per pool (a minute of 16 followers), and for a minute. */
const MAX_PENDING = 1000;
const PENDING_TTL_MS = 60_000;

/** The lead lapses this long after its holder stopped renewing (it renews every tick, 1 s). */
export const ROLLOUT_LEASE_MS = 3000;

/**
 * Rollouts in Redis beside the shared control state, under the same hash tag: one hash per pool
 * (`version`, `json`), saved by compare and set so that the leader's ticks and an operator's
 * pause on another instance never overwrite each other.
 */
export class RedisRolloutStates implements RolloutStateStore {
  readonly #store: RedisControlStore;

  constructor(store: RedisControlStore) {
    this.#store = store;
  }

  async load(pool: string): Promise<StoredRollout | undefined> {
    this.#ready();
    const json = await this.#store.client.eval(LOAD, 1, this.#key(pool));
    return typeof json === 'string' ? (JSON.parse(json) as StoredRollout) : undefined;
  }

  async save(rollout: StoredRollout): Promise<number | undefined> {
    this.#ready();
    const version = rollout.version + 1;
    const answer = await this.#store.client.eval(SAVE, 1, this.#key(rollout.pool), String(rollout.version), JSON.stringify({ ...rollout, version }));
    return answer === version ? version : undefined;
  }

  #key(pool: string): string {
    return this.#store.key(`rollout:${pool}`);
  }

  #ready(): void {
    if (!this.#store.available) throw new ControlError('the shared control store cannot be reached; the rollout is unchanged', { code: 'STORE_UNAVAILABLE' });
  }
}

/** One pool's rollout fleet over Redis: the lead is a lease, followers' seconds go through a list. */
export class RedisRolloutFleet implements RolloutFleet {
  readonly shared = true;
  readonly #store: RedisControlStore;
  readonly #lease: RedisLease;
  readonly #pending: string;

  constructor(store: RedisControlStore, pool: string, instanceId: string) {
    this.#store = store;
    this.#lease = new RedisLease(store.client, store.key(`lease:rollout:${pool}`), instanceId, ROLLOUT_LEASE_MS);
    this.#pending = store.key(`rollout:${pool}:seconds`);
  }

  lead(): Promise<boolean> {
    return this.#store.available ? this.#lease.acquire() : Promise.resolve(false);
  }

  async release(): Promise<void> {
    // with Redis away the lease lapses by itself; a release would only wait in the client's queue
    if (this.#lease.held && this.#store.available) await this.#lease.release();
  }

  contribute(rolloutId: string, second: Second): void {
    if (!this.#store.available) return; // a lost second: the judge waits for more traffic
    this.#store.client.eval(CONTRIBUTE, 1, this.#pending, JSON.stringify(toWire(rolloutId, second)), String(MAX_PENDING), String(PENDING_TTL_MS)).catch(() => undefined);
  }

  async collect(rolloutId: string): Promise<Second | undefined> {
    if (!this.#store.available) return undefined;
    const entries = await this.#store.client.eval(COLLECT, 1, this.#pending).catch(() => []);
    return Array.isArray(entries) ? sumWire(rolloutId, entries as string[]) : undefined;
  }
}
