import type { Logger } from '../logger.js';
import type { AffinityStore, Awaitable } from './store.js';

/** What the store said about a session; `down` when it failed or was not asked. */
export type StoreAnswer = { readonly state: 'hit'; readonly serverId: string } | { readonly state: 'miss' | 'down' };

const MISS: StoreAnswer = Object.freeze({ state: 'miss' });
const DOWN: StoreAnswer = Object.freeze({ state: 'down' });

export interface StoreGuardOptions {
  logger: Logger;
  /** While the store is down, one request at most this often asks it (the rest go by cookie). Default 1000. */
  probeIntervalMs?: number;
  /** Pins made during an outage, kept to write once the store is back. Default 10 000. */
  maxPendingWrites?: number;
  now?: () => number;
}

/**
 * A store as the request path sees it: never throws, never rejects. The first failure opens an
 * outage (one warning); while it lasts, requests skip the store except one probe a second, so
 * a hung store costs one request its timeout, not every request; the first success closes it
 * (one "recovered" message) and writes the pins made meanwhile, so that the store does not
 * send their sessions back to the servers they left.
 */
export class StoreGuard {
  readonly store: AffinityStore;
  readonly #logger: Logger;
  readonly #probeIntervalMs: number;
  readonly #maxPendingWrites: number;
  readonly #now: () => number;
  #down = false;
  #downSince = 0;
  /** Bumped at every transition: an answer to a call begun before it must not move the state again. */
  #generation = 0;
  #lastProbe = 0;
  #probing = false;
  #pending = new Map<string, [pool: string, session: string, serverId: string, ttlMs: number]>();
  /** Writes under way, so that close() lets them land (each is bounded by the store's own timeout). */
  #writing = new Set<Promise<void>>();

  constructor(store: AffinityStore, options: StoreGuardOptions) {
    this.store = store;
    this.#logger = options.logger;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.#maxPendingWrites = options.maxPendingWrites ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** In an outage: the last call failed and none has succeeded since. */
  get down(): boolean {
    return this.#down;
  }

  /** Pins waiting for the store to come back. */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  get(pool: string, session: string, ttlMs: number): Awaitable<StoreAnswer> {
    const probe = this.#down;
    if (probe) {
      const now = this.#now();
      if (this.#probing || now - this.#lastProbe < this.#probeIntervalMs) return DOWN;
      this.#probing = true;
      this.#lastProbe = now;
    }
    const generation = this.#generation;
    const done = (answer: StoreAnswer): StoreAnswer => {
      if (probe) this.#probing = false;
      return answer;
    };
    const fail = (error: unknown): StoreAnswer => {
      this.#failed(generation, error);
      return done(DOWN);
    };
    const settle = (serverId: string | undefined): StoreAnswer => {
      this.#succeeded(generation);
      return done(typeof serverId === 'string' ? { state: 'hit', serverId } : MISS);
    };
    let answer: Awaitable<string | undefined>;
    try {
      answer = this.store.get(pool, session, ttlMs);
    } catch (error) {
      return fail(error);
    }
    return answer instanceof Promise ? answer.then(settle, fail) : settle(answer);
  }

  /** Fire and forget: a pin is written now, or queued while the store is down. */
  set(pool: string, session: string, serverId: string, ttlMs: number): void {
    if (this.#down) {
      this.#queue(pool, session, serverId, ttlMs);
      return;
    }
    const generation = this.#generation;
    const fail = (error: unknown): void => {
      this.#queue(pool, session, serverId, ttlMs);
      this.#failed(generation, error);
    };
    try {
      const written = this.store.set(pool, session, serverId, ttlMs);
      if (written instanceof Promise) {
        const landed = written.then(() => this.#succeeded(generation), fail).finally(() => this.#writing.delete(landed));
        this.#writing.add(landed);
      } else {
        this.#succeeded(generation);
      }
    } catch (error) {
      fail(error);
    }
  }

  /** The store's per-server session counts, or undefined when it has none or fails (counted as an outage). */
  async pinned(pool: string, serverIds: readonly string[], ttlMs: number, now: number): Promise<ReadonlyMap<string, number> | undefined> {
    if (!this.store.pinned) return undefined;
    const generation = this.#generation;
    try {
      const counts = await this.store.pinned(pool, serverIds, ttlMs, now);
      this.#succeeded(generation);
      return counts;
    } catch (error) {
      this.#failed(generation, error);
      return undefined;
    }
  }

  /** Wait for the writes under way, then close the store. Pins still queued for an outage are dropped. */
  async close(): Promise<void> {
    await Promise.all(this.#writing);
    this.#pending.clear();
    await this.store.close();
  }

  #queue(pool: string, session: string, serverId: string, ttlMs: number): void {
    const key = `${pool}\0${session}`;
    this.#pending.delete(key); // re-insert at the end: the newest pin wins, the oldest is dropped first
    this.#pending.set(key, [pool, session, serverId, ttlMs]);
    if (this.#pending.size > this.#maxPendingWrites) this.#pending.delete(this.#pending.keys().next().value as string);
  }

  #failed(generation: number, error: unknown): void {
    if (this.#down || generation !== this.#generation) return;
    this.#down = true;
    this.#generation++;
    this.#downSince = this.#lastProbe = this.#now();
    this.#logger.warn('affinity store unavailable: routing sticky sessions by their signed cookies until it answers again', {
      error: error instanceof Error ? error.message : String(error),
    });
  }

  #succeeded(generation: number): void {
    if (!this.#down || generation !== this.#generation) return;
    this.#down = false;
    this.#generation++;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const message = 'affinity store answering again';
    const details = { downForMs: this.#now() - this.#downSince, pendingWrites: pending.length };
    const { info } = this.#logger as Logger & { info?: Logger['warn'] };
    if (typeof info === 'function') info.call(this.#logger, message, details);
    else this.#logger.warn(message, details);
    for (const [pool, session, serverId, ttlMs] of pending) this.set(pool, session, serverId, ttlMs);
  }
}
