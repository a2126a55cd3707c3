import type { AffinityStore } from './store.js';

export interface MemoryAffinityStoreOptions {
  /** Sessions kept at most; the least recently used goes first. Default 100 000. */
  maxEntries?: number;
  /** The clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  readonly pool: string;
  readonly serverId: string;
  expiresAt: number;
}

/** About 100 bytes a session: 100 000 of them is some 10 MB, a bound nobody notices. */
const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * Sticky sessions in this process: the default store. Bounded (LRU), with a TTL that each
 * use refreshes. Answers synchronously. With several instances behind a load balancer, each
 * has its own memory; use `RedisAffinityStore` to share pins between them.
 *
 * @example
 * createBalancer({ pools, sticky: { secret, store: new MemoryAffinityStore({ maxEntries: 50_000 }) } });
 */
export class MemoryAffinityStore implements AffinityStore {
  readonly maxEntries: number;
  /** Key `pool\0session`. Map order is least recently used first; with one TTL that is also soonest to expire. */
  #entries = new Map<string, Entry>();
  /** pool → server id → live sessions, kept exact as entries come and go. */
  #counts = new Map<string, Map<string, number>>();
  #now: () => number;

  constructor(options: MemoryAffinityStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
    this.maxEntries = maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** Sessions held now, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size;
  }

  get(pool: string, session: string, ttlMs: number): string | undefined {
    const key = `${pool}\0${session}`;
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const now = this.#now();
    if (entry.expiresAt <= now) {
      this.#delete(key, entry);
      return undefined;
    }
    entry.expiresAt = now + ttlMs;
    // re-insert: the most recently used goes to the end
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.serverId;
  }

  set(pool: string, session: string, serverId: string, ttlMs: number): void {
    const key = `${pool}\0${session}`;
    const old = this.#entries.get(key);
    if (old) this.#delete(key, old);
    const now = this.#now();
    this.#entries.set(key, { pool, serverId, expiresAt: now + ttlMs });
    this.#count(pool, serverId, 1);
    this.#sweep(now);
    while (this.#entries.size > this.maxEntries) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#delete(oldestKey, oldest);
    }
  }

  /** Live sessions per server of `pool`: exact when sessions share one TTL, as the balancer's do. */
  pinned(pool: string): ReadonlyMap<string, number> {
    this.#sweep(this.#now());
    return new Map(this.#counts.get(pool));
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#counts.clear();
  }

  /** Drop expired entries from the front; stops at the first live one, so O(expired). */
  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return;
      this.#delete(key, entry);
    }
  }

  #delete(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#count(entry.pool, entry.serverId, -1);
  }

  #count(pool: string, serverId: string, delta: number): void {
    let servers = this.#counts.get(pool);
    if (!servers) this.#counts.set(pool, (servers = new Map()));
    const next = (servers.get(serverId) ?? 0) + delta;
    if (next > 0) servers.set(serverId, next);
    else servers.delete(serverId);
  }
}
