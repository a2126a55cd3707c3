import type { AffinityStore } from './store.js';

export interface RedisAffinityStoreOptions {
  /** Put before every key. Default `switchyard:affinity:`. */
  prefix?: string;
  /** A command not answered in this time fails, and the request goes by its cookie. Default 100. */
  commandTimeoutMs?: number;
  /** Sub-windows per TTL for the `pinned` estimate: more is closer, costs more keys. Default 4. */
  countWindows?: number;
}

/**
 * The commands this store sends, all single-key: an ioredis client (plain, over Sentinel, or a
 * Cluster) has them. Typed here rather than imported, so that ioredis stays optional.
 */
export interface RedisCommands {
  readonly status: string;
  getex(key: string, px: 'PX', milliseconds: number): Promise<string | null>;
  set(key: string, value: string, px: 'PX', milliseconds: number): Promise<unknown>;
  pfadd(key: string, ...elements: string[]): Promise<number>;
  pfcount(key: string): Promise<number>;
  pexpireat(key: string, unixTimeMilliseconds: number): Promise<number>;
}

interface Seen {
  readonly pool: string;
  readonly serverId: string;
  ttlMs: number;
  sessions: Set<string>;
}

/** Known to be cut off: fail at once instead of queueing in ioredis's offline queue. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end', 'disconnecting']);
/** Sessions remembered per server between two counts; past it, the estimate undercounts a burst. */
const MAX_SEEN_PER_SERVER = 10_000;

/**
 * Sticky sessions in Redis, so that several balancer instances agree on each session's server.
 * Works over a plain ioredis client, Sentinel or Cluster (single-key commands only; Redis 6.2+
 * for GETEX). Each command has its own short timeout, so a slow Redis never holds a request: the
 * balancer then routes by the signed cookie. The client stays yours: `close()` leaves it open.
 *
 * `pinned` is estimated with HyperLogLogs: each server has one per sub-window of the TTL, and a
 * session seen (pinned, or looked up) is added to the current and the next `countWindows`
 * windows, so the current window's HLL alone counts every session seen within the last TTL (plus
 * up to one sub-window), across all instances, at ~1% error. A session that moved away still
 * counts on its old server until it ages out.
 *
 * @example
 * const redis = new Redis(process.env.REDIS_URL);
 * createBalancer({ pools, sticky: { secret, store: new RedisAffinityStore(redis) } });
 */
export class RedisAffinityStore implements AffinityStore {
  readonly prefix: string;
  readonly #client: RedisCommands;
  readonly #timeoutMs: number;
  readonly #windows: number;
  /** `pool\0serverId` → sessions seen since the last count, added to the HLLs then. */
  #seen = new Map<string, Seen>();
  #closed = false;

  constructor(client: RedisCommands, options: RedisAffinityStoreOptions = {}) {
    this.#client = client;
    this.prefix = options.prefix ?? 'switchyard:affinity:';
    this.#timeoutMs = positive(options.commandTimeoutMs ?? 100, 'commandTimeoutMs');
    this.#windows = Math.round(positive(options.countWindows ?? 4, 'countWindows'));
  }

  async get(pool: string, session: string, ttlMs: number): Promise<string | undefined> {
    let serverId: string | null;
    try {
      serverId = await this.#run(() => this.#client.getex(this.#sessionKey(pool, session), 'PX', ttlMs));
    } catch (error) {
      // Redis answered, about this one key (WRONGTYPE: someone wrote another type there): a miss
      // for this session, which its next pin overwrites; not an outage of the whole store
      if (isReplyError(error)) return undefined;
      throw error;
    }
    if (serverId === null) return undefined;
    this.#saw(pool, serverId, session, ttlMs);
    return serverId;
  }

  async set(pool: string, session: string, serverId: string, ttlMs: number): Promise<void> {
    // counted at once: the next count must not miss a pin whose write is still on its way
    this.#saw(pool, serverId, session, ttlMs);
    await this.#run(() => this.#client.set(this.#sessionKey(pool, session), serverId, 'PX', ttlMs));
  }

  /** Adds the sessions seen since the last call to the HLLs, then reads each server's estimate. */
  async pinned(pool: string, serverIds: readonly string[], ttlMs: number, now: number): Promise<ReadonlyMap<string, number>> {
    await this.#flush(pool, now);
    const window = Math.floor(now / this.#span(ttlMs));
    const counts = await Promise.all(serverIds.map((id) => this.#run(() => this.#client.pfcount(this.#countKey(pool, id, window)))));
    return new Map(serverIds.map((id, i) => [id, counts[i]!]));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#seen.clear();
  }

  async #flush(pool: string, now: number): Promise<void> {
    const writes: Array<Promise<unknown>> = [];
    for (const seen of this.#seen.values()) {
      if (seen.pool !== pool || seen.sessions.size === 0) continue;
      const sessions = [...seen.sessions];
      seen.sessions = new Set();
      const span = this.#span(seen.ttlMs);
      const window = Math.floor(now / span);
      for (let w = window; w <= window + this.#windows; w++) {
        const key = this.#countKey(pool, seen.serverId, w);
        writes.push(this.#run(() => this.#client.pfadd(key, ...sessions)));
        // read until window w ends; one more span of grace for clocks that differ between instances
        writes.push(this.#run(() => this.#client.pexpireat(key, (w + 2) * span)));
      }
    }
    await Promise.all(writes);
  }

  #saw(pool: string, serverId: string, session: string, ttlMs: number): void {
    const key = `${pool}\0${serverId}`;
    let seen = this.#seen.get(key);
    if (!seen) this.#seen.set(key, (seen = { pool, serverId, ttlMs, sessions: new Set() }));
    seen.ttlMs = ttlMs;
    if (seen.sessions.size < MAX_SEEN_PER_SERVER) seen.sessions.add(session);
  }

  #span(ttlMs: number): number {
    return Math.max(1000, Math.ceil(ttlMs / this.#windows));
  }

  #sessionKey(pool: string, session: string): string {
    return `${this.prefix}s:${encodeURIComponent(pool)}:${session}`;
  }

  #countKey(pool: string, serverId: string, window: number): string {
    return `${this.prefix}n:${encodeURIComponent(pool)}:${encodeURIComponent(serverId)}:${window}`;
  }

  /** One command with this store's own timeout; its late answer, if any, is dropped. */
  #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('RedisAffinityStore is closed'));
    const status = this.#client.status;
    if (DISCONNECTED.has(status)) return Promise.reject(new Error(`Redis connection is ${status}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      const settle = <A>(then: (arg: A) => void) => (arg: A): void => {
        clearTimeout(timer);
        then(arg);
      };
      try {
        command().then(settle(resolve), settle(reject));
      } catch (error) {
        settle(reject)(error);
      }
    });
  }
}

/** An error Redis itself sent back (ioredis' ReplyError), as opposed to no answer at all. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  return value;
}
