import { createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { requestProtocol } from '../forwarding/headers.js';
import type { Logger } from '../logger.js';
import type { StickyConfig } from '../options.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import { affinitySetCookie, readCookie, withoutCookie } from './cookie-header.js';
import { signValue, verifyValue, type VerifiedValue } from './cookie-value.js';
import { MemoryAffinityStore } from './memory-store.js';
import { isUnassignedSession, newSessionId, UNASSIGNED_SESSION } from './session-ids.js';
import { StoreGuard, type StoreAnswer } from './store-guard.js';
import { TokenIndex } from './token-index.js';

export interface AffinityOptions {
  /** Whether the proxy in front is believed about the request's scheme (for `Secure`), when `pin` is not told. Default false. */
  trustProxy?: boolean;
  logger: Logger;
  /** Pools whose `pinned` counts to keep from the start; any other sticky pool joins on its first pin. */
  pools?: Iterable<Pool>;
  /** How often `server.pinned` is refreshed from the store. Default 5000; 0 for never (tests call `refreshPinned`). */
  countIntervalMs?: number;
  /** While the store is down, how often one request may probe it. Default 1000. */
  probeIntervalMs?: number;
}

/**
 * What a request's affinity cookie and the store said: `lookup` returns it, `pin` takes it back.
 * Only `server` is for the caller; the rest is the resolver's.
 */
export interface Pinning {
  /** Send the request here: its pinned server, still accepting pinned requests. Undefined: pick one. */
  readonly server: Server | undefined;
  /** The server the session was pinned to, accepting or not (undefined if it has left the pool). */
  readonly pinnedTo: Server | undefined;
  readonly session: Buffer;
  /** This pool's token in the cookie, if any, and the other pools' tokens, carried along. */
  readonly ownToken: Buffer | undefined;
  readonly otherTokens: readonly Buffer[];
  readonly expiresAt: number;
  /** Signed with the current secret (else re-issue it under the current one). */
  readonly current: boolean;
  /** The server id the store answered, if it did. */
  readonly storedId: string | undefined;
}

/** `lookup`'s answer: synchronous unless the store had to be asked over the network. */
export type LookupResult = Pinning | undefined | Promise<Pinning | undefined>;

const DEFAULT_COUNT_INTERVAL_MS = 5000;
const MISS: StoreAnswer = { state: 'miss' };


/** A server's first cookies for one expiry second, without and with `Secure`. */
interface FirstCookie {
  readonly second: number;
  readonly plain: string;
  readonly secure: string;
}

/**
 * Cookie affinity for a balancer: which server a request's session is pinned to, and the
 * `Set-Cookie` that pins it. Cheap where it can be: a pool that is not sticky costs one
 * property read; a request without the cookie costs a substring search and no store call, and
 * gets its server's first cookie (no session yet), signed once per server per second and shared.
 * The session is drawn and stored when that cookie comes back, and the cookie re-issued with it.
 * With the in-memory store everything is synchronous.
 *
 * @example
 * const found = affinity.lookup(req, pool, now);
 * const pinning = found instanceof Promise ? await found : found;   // never rejects
 * const server = pinning?.server ?? pool.pick(context);
 * // … once `server` has answered, before writing the response head:
 * const setCookie = affinity.pin(req, pool, server, pinning, now);
 */
export class Affinity {
  readonly cookieName: string;
  readonly ttlMs: number;
  readonly #keys: readonly KeyObject[];
  readonly #trustProxy: boolean;
  readonly #store: StoreGuard;
  /** Counts this instance's own pins, when the store cannot count. */
  readonly #local: MemoryAffinityStore | undefined;
  readonly #indexes = new WeakMap<Pool, TokenIndex>();
  readonly #firstCookies = new WeakMap<Server, FirstCookie>();
  readonly #pools = new Set<Pool>();
  readonly #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(config: StickyConfig, options: AffinityOptions) {
    this.cookieName = config.cookieName;
    this.ttlMs = config.ttlMs;
    this.#keys = [config.secret, ...config.previousSecrets].map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
    this.#trustProxy = options.trustProxy ?? false;
    const store = config.store ?? new MemoryAffinityStore();
    this.#store = new StoreGuard(store, { logger: options.logger, ...(options.probeIntervalMs !== undefined && { probeIntervalMs: options.probeIntervalMs }) });
    this.#local = store.pinned ? undefined : new MemoryAffinityStore();
    for (const pool of options.pools ?? []) if (pool.config.sticky) this.#pools.add(pool);
    const every = options.countIntervalMs ?? DEFAULT_COUNT_INTERVAL_MS;
    if (every > 0) {
      this.#timer = setInterval(() => void this.refreshPinned(), every);
      this.#timer.unref(); // counts are for display: never keep the process alive for them
    }
  }

  /** True while the store is failing and sessions are routed by their cookies alone. */
  get storeDown(): boolean {
    return this.#store.down;
  }

  /**
   * Where this request's session is pinned in `pool`. Undefined for a pool that is not sticky or a
   * request without a valid cookie (tampered, expired, from an unknown secret, malformed: all
   * ignored). Never throws, and the promise never rejects: a failing store falls back to the cookie.
   */
  lookup(req: IncomingMessage, pool: Pool, now = Date.now()): LookupResult {
    if (pool.config.sticky === null) return undefined;
    const raw = readCookie(req.headers.cookie, this.cookieName);
    if (raw === undefined) return undefined;
    const verified = verifyValue(raw, this.#keys, now);
    if (!verified) return undefined;
    const session = verified.value.session;
    // a first cookie names only the server: nothing of it is in the store yet
    if (isUnassignedSession(session)) return this.#settle(pool, verified, MISS, now);
    const answer = this.#store.get(pool.name, session.toString('base64url'), this.ttlMs);
    if (answer instanceof Promise) return answer.then((stored) => this.#settle(pool, verified, stored, now));
    return this.#settle(pool, verified, answer, now);
  }

  /**
   * Pin the session to `server`, the server that answered the request: counts a new pin or a
   * re-pin, writes the store when it does not already say so, and returns the `Set-Cookie` value
   * to append to the response, or undefined when the client's cookie already says it all (or the
   * pool is not sticky). Without `pinning` (a new client) it is the server's shared first cookie;
   * with a first cookie's `pinning`, a session is drawn, stored and sent in a new cookie.
   * `pinning` is what `lookup` returned for this request; `secure` whether the client reached us
   * over HTTPS (the cookie is then `Secure`); `newSession` a session id already drawn for this
   * client (a rollout's cohort was read from it), which then names its session from the start.
   */
  pin(req: IncomingMessage, pool: Pool, server: Server, pinning: Pinning | undefined, now = Date.now(), secure = requestProtocol(req, this.#trustProxy) === 'https', newSession?: Buffer): string | undefined {
    // never pin outside the pool, whatever the caller holds
    if (pool.config.sticky === null || pool.get(server.id) !== server) return undefined;
    this.#pools.add(pool);
    const before = pinning?.pinnedTo;
    if (before !== server) {
      if (before) {
        before.repinned++;
        before.pinned = Math.max(0, before.pinned - 1);
      }
      server.pinned++; // at once, for the dashboard; refreshPinned corrects it from the store
    }
    // A new client gets a cookie that names its server and no session: clients that never send it
    // back (curl, bots, API clients) then cost neither a store key for the TTL nor a signature of
    // their own (the cookie is shared by every new client of the server within the same second).
    // Its session is drawn, and stored, when the cookie comes back.
    if (pinning === undefined) {
      if (newSession === undefined) return this.#firstCookie(pool, server, now, secure);
      return this.#setCookie(newSession, now + this.ttlMs, [this.#index(pool).tokenOf(server.id)], secure);
    }
    const unassigned = isUnassignedSession(pinning.session);
    const session = unassigned ? (newSession ?? newSessionId()) : pinning.session;
    const sessionKey = session.toString('base64url');
    if (pinning.storedId !== server.id) this.#store.set(pool.name, sessionKey, server.id, this.ttlMs);
    this.#local?.set(pool.name, sessionKey, server.id, this.ttlMs);

    const token = this.#index(pool).tokenOf(server.id);
    const fresh = !unassigned && pinning.current && pinning.expiresAt - now > this.ttlMs / 2;
    if (fresh && pinning.ownToken?.equals(token)) return undefined;
    return this.#setCookie(session, now + this.ttlMs, [token, ...pinning.otherTokens], secure);
  }

  /** The first cookie for `server`, reused for as long as its expiry (in whole seconds) stays the same. */
  #firstCookie(pool: Pool, server: Server, now: number, secure: boolean): string {
    const second = Math.floor((now + this.ttlMs) / 1000);
    let cached = this.#firstCookies.get(server);
    // a server belongs to one pool, so the server alone keys the cache
    if (cached?.second !== second) {
      const token = this.#index(pool).tokenOf(server.id);
      const issue = (secureCookie: boolean) => this.#setCookie(UNASSIGNED_SESSION, second * 1000, [token], secureCookie);
      cached = { second, plain: issue(false), secure: issue(true) };
      this.#firstCookies.set(server, cached);
    }
    return secure ? cached.secure : cached.plain;
  }

  #setCookie(session: Buffer, expiresAt: number, tokens: Buffer[], secure: boolean): string {
    const value = signValue({ session, expiresAt, tokens }, this.#keys[0]!);
    return affinitySetCookie(this.cookieName, value, { ttlMs: this.ttlMs, secure });
  }

  /**
   * The `Cookie` header to forward to `pool`'s servers: without the affinity cookie, unless the
   * pool says `sticky: { forwardCookie: true }`. Undefined when nothing is left (delete the header).
   */
  forwardedCookieHeader(pool: Pool, header: string | undefined): string | undefined {
    return pool.config.sticky?.forwardCookie ? header : withoutCookie(header, this.cookieName);
  }

  /** Set each server's `pinned` from the store's counts (or this instance's own, if it cannot count). Never rejects. */
  refreshPinned(now = Date.now()): Promise<void> {
    this.#refreshing ??= this.#refresh(now).finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** Stop the count timer and close the store. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#refreshing;
    await this.#local?.close();
    await this.#store.close();
  }

  #settle(pool: Pool, verified: VerifiedValue, stored: StoreAnswer, now: number): Pinning {
    const index = this.#index(pool);
    let ownId: string | undefined;
    let ownToken: Buffer | undefined;
    const otherTokens: Buffer[] = [];
    for (const token of verified.value.tokens) {
      const id = index.serverOf(token);
      if (id === undefined) otherTokens.push(token);
      else if (ownToken === undefined) [ownId, ownToken] = [id, token];
    }
    // the store is the truth when it answers, so instances agree after one of them re-pins
    const storedId = stored.state === 'hit' ? stored.serverId : undefined;
    const pinnedId = storedId ?? ownId;
    const pinnedTo = pinnedId === undefined ? undefined : pool.get(pinnedId);
    return {
      server: pinnedTo && pool.acceptsPinned(pinnedTo, now) ? pinnedTo : undefined,
      pinnedTo,
      session: verified.value.session,
      ownToken,
      otherTokens,
      expiresAt: verified.value.expiresAt,
      current: verified.keyIndex === 0,
      storedId,
    };
  }

  #index(pool: Pool): TokenIndex {
    let index = this.#indexes.get(pool);
    if (!index) this.#indexes.set(pool, (index = new TokenIndex(pool, this.#keys)));
    return index;
  }

  async #refresh(now: number): Promise<void> {
    for (const pool of this.#pools) {
      const servers = pool.servers;
      const counts = this.#local
        ? this.#local.pinned(pool.name)
        : await this.#store.pinned(pool.name, servers.map((server) => server.id), this.ttlMs, now);
      if (!counts) continue; // the store failed: keep the last counts (the outage is logged once)
      for (const server of servers) server.pinned = counts.get(server.id) ?? 0;
    }
  }
}
