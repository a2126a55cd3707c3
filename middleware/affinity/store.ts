/** A value now, or later: in-process stores answer synchronously, so that the hot path stays sync. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where sticky sessions are remembered: session key → server id, per pool.
 * Contract: methods may throw or reject (a store outage); the balancer then falls back to
 * what the signed cookie carries, so a store must never be needed to serve a request.
 * A store must answer quickly or fail: a slow answer holds the request that asked.
 */
export interface AffinityStore {
  /** The server id this session is pinned to in `pool`, refreshing its TTL; undefined if unknown. */
  get(pool: string, session: string, ttlMs: number): Awaitable<string | undefined>;
  /** Pin or re-pin a session for `ttlMs`. */
  set(pool: string, session: string, serverId: string, ttlMs: number): Awaitable<void>;
  /**
   * Optional: how many live sessions are pinned to each of `serverIds` in `pool` (an
   * estimate is fine; ids the store knows nothing of may be left out). Called every few
   * seconds, never per request. Without it the balancer counts its own pins.
   */
  pinned?(pool: string, serverIds: readonly string[], ttlMs: number, now: number): Awaitable<ReadonlyMap<string, number>>;
  /** Release what the store holds (timers, connections it owns). */
  close(): Promise<void>;
}
