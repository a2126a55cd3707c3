/**
 * The algorithm seam: given the servers that may take this request and a few facts
 * about it, answer which one. Never sees sockets, timers, health config or `res`.
 */

/** A server as an algorithm sees it: read-only. */
export interface Candidate {
  readonly id: string;
  /** Weight after slow start; always > 0 for a candidate. */
  effectiveWeight(now?: number): number;
  /** Requests and WebSockets in flight on this server. */
  readonly active: number;
}

/** Facts about the request, built once per request. */
export interface PickContext {
  /** The client's address (the first trusted X-Forwarded-For hop when `trustProxy` is on). */
  readonly clientAddress: string;
  readonly method: string;
  /** The normalised path, before any `stripPrefix`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly now: number;
}

/**
 * Contract: `pick` returns one of `servers` (never a server outside the list), or
 * `undefined` to refuse (the client then gets 503). `servers` is never empty, and the
 * same array object is passed again until the eligible set changes, so an algorithm may
 * cache work keyed on its identity. One instance serves one pool.
 */
export interface Algorithm {
  readonly name?: string;
  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined;
}

export type AlgorithmName = 'round-robin' | 'weighted-round-robin' | 'least-connections' | 'ip-hash';
