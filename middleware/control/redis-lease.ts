/** The one command a lease sends: any ioredis client (plain, Sentinel, Cluster) has it. */
export interface LeaseClient {
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Take the lease if it is free, or extend it if we hold it; answer whether we hold it now. */
const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Let go only of a lease we hold, so a late release never frees a successor's lease. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A named lease in Redis held by at most one instance at a time: the health-check leader of a
 * pool, the leader of a rollout. The holder renews it more often than it expires (a third of the
 * TTL is usual); if the holder dies, the lease lapses and the next `acquire` elsewhere wins.
 * Redis down is "not held": nobody leads, and callers fall back to local behaviour.
 */
export class RedisLease {
  readonly #client: LeaseClient;
  readonly #key: string;
  readonly #holder: string;
  readonly #ttlMs: number;
  #held = false;

  constructor(client: LeaseClient, key: string, holder: string, ttlMs: number) {
    this.#client = client;
    this.#key = key;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
  }

  /** As of the last `acquire`: do we hold it? */
  get held(): boolean {
    return this.#held;
  }

  /** Take or renew the lease. Never throws: an unreachable Redis answers false. */
  async acquire(): Promise<boolean> {
    try {
      this.#held = (await this.#client.eval(ACQUIRE, 1, this.#key, this.#holder, String(this.#ttlMs))) === 1;
    } catch {
      this.#held = false;
    }
    return this.#held;
  }

  async release(): Promise<void> {
    this.#held = false;
    try {
      await this.#client.eval(RELEASE, 1, this.#key, this.#holder);
    } catch {
      // It lapses by itself.
    }
  }
}
