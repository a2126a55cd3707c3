/** One change to a pool, as emitted by `balancer.on('change', ...)`. */
export interface ChangeEvent {
  type: 'state' | 'health' | 'weight' | 'added' | 'removed';
  pool: string;
  server: string;
  before: string | number | null;
  after: string | number | null;
  /** Why, when a check or ejection caused it: "status 500 (3 in a row)". */
  reason?: string;
  at: number;
}

/** What `pool.drain()` resolves to. */
export interface DrainResult {
  server: string;
  /** True when the server went idle before the timeout. */
  drained: boolean;
  /** Requests and WebSockets still open at the timeout, which were closed. */
  closed: number;
  waitedMs: number;
}
