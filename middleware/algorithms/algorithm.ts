/**
 * The algorithm seam: given the servers that may take this request and a few facts
 * about it, answer which one. Never sees sockets, timers, health config or `res`.
 */

/** Weights are numbers from 0 to MAX_WEIGHT (HAProxy caps at 256); 0 takes no new requests. */
export const MAX_WEIGHT = 256;

/** A server as an algorithm sees it: read-only. */
export interface Candidate {
  readonly id: string;
  /** Configured weight, 0..MAX_WEIGHT (an eligible server always has > 0). Used by hash tables. */
  readonly weight: number;
  /** Weight after slow start (<= weight, > 0 when eligible); moves only while the server ramps. */
  effectiveWeight(now: number): number;
  /** Requests (or TCP connections) in flight on this server now. */
  readonly active: number;
}

/** Facts about the request, built once per request. */
export interface PickContext {
  /** Client address (HTTP: after trust-proxy; TCP: the peer). Always present. */
  readonly clientAddress: string;
  readonly now: number;
  /** HTTP only; absent for TCP pools. */
  readonly method?: string;
  /** HTTP only: the normalised path, before any `stripPrefix`. */
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** The hash key the pool computed for this request (consistent-hash / ip-hash); absent otherwise. */
  readonly hashKey?: string | undefined;
  /** Servers this pick must not return: already tried by this request, or full. Usually undefined. */
  readonly exclude?: ReadonlySet<Candidate> | undefined;
}

/** What the pool tells an algorithm when something changes; never called on the request path. */
export interface PoolView<S extends Candidate = Candidate> {
  /** Every member (eligible or not), in a stable order. Hash tables are built over these. */
  readonly members: readonly S[];
  /** The members that may take new requests now (primaries, or backups when no primary may). */
  readonly eligible: readonly S[];
  /** O(1): is this member in `eligible`? */
  isEligible(server: S): boolean;
  readonly now: number;
}

/**
 * 'members': membership or configured weights changed (tables may be rebuilt).
 * 'eligibility': only the eligible subset or slow-start effective weights changed: must NOT rebuild hash tables.
 */
export type UpdateReason = 'members' | 'eligibility';

/**
 * Contract, for the pool that drives an algorithm:
 * - `update(view, 'members')` once before the first pick, then `update` on every change.
 *   The built-ins pick from their own structures, and answer in O(1) or O(log n) only when
 *   `servers` is the very `view.eligible` array of the last update; any other array is
 *   adopted as a new eligible set first (O(n log n), still correct, credit kept).
 * - `acquired`/`released` on every request (or connection) start and end, including those
 *   pinned by affinity: least-connections and consistent-hash keep their loads from these.
 * - `pick` returns one of `servers` (never a server outside the list, never one in
 *   `context.exclude`), or `undefined` to refuse (the client then gets 503).
 * One instance serves one pool.
 *
 * @example
 * const algorithm = ALGORITHMS['least-connections']();
 * algorithm.update?.(view, 'members');
 * const server = algorithm.pick(view.eligible, { clientAddress: '203.0.113.7', now: Date.now() });
 */
export interface Algorithm {
  readonly name?: string;
  /** Optional. Called once before the first pick ('members'), then on every change. O(n) or O(n log n) is fine here. */
  update?(view: PoolView, reason: UpdateReason): void;
  /**
   * Choose one of `servers` (the eligible list, never empty) honouring context.exclude, or undefined to refuse.
   * Built-ins may answer from their own structures kept by update(); a user algorithm without update() just uses `servers`.
   */
  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined;
  /** Optional, O(log n) at most: a request/connection started on `server` (its `active` has already moved). */
  acquired?(server: Candidate): void;
  /** Optional, O(log n) at most: a request/connection ended on `server` (its `active` has already moved). */
  released?(server: Candidate): void;
}

export type AlgorithmName = 'round-robin' | 'weighted-round-robin' | 'least-connections' | 'ip-hash' | 'p2c' | 'consistent-hash';

export interface AlgorithmOptions {
  /** consistent-hash: Mirrokni et al.'s c, >= 1; default 1.25 (HAProxy hash-balance-factor 125). */
  balanceFactor?: number;
  /** Seed for p2c's random choices, for tests: a function returning numbers in [0, 1). */
  random?: () => number;
}
