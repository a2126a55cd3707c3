import type { AlgorithmName } from '../algorithms/algorithm.js';

/** Every default, each with its reason. */
export const DEFAULTS = Object.freeze({
  /** The design's default; choose weighted-round-robin to make weights count. */
  algorithm: 'round-robin' as AlgorithmName,
  weight: 1,
  /** HAProxy's cap: weights are shares, and a bound keeps every table small. */
  maxWeight: 256,
  /** HAProxy's `inter 2s`, `fall 3`, `rise 2`; a timeout well below the interval. */
  healthCheck: { intervalMs: 2000, timeoutMs: 1000, unhealthyThreshold: 3, healthyThreshold: 2, jitter: 0.1, path: '/', method: 'GET', expectStatus: '200-399' },
  /** Envoy's outlier detection: 5 consecutive errors, 30 s base ejection; a cap so no server is out for long. */
  passiveHealth: { consecutiveFailures: 5, include5xx: false, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 },
  /** Off, as in HAProxy and NGINX: a ramp is a choice. */
  slowStartMs: 0,
  /** Long enough for ordinary requests to finish; WebSockets past it are closed. */
  drainTimeoutMs: 30_000,
  /** HAProxy's usual `timeout connect 5s`; NGINX's 60 s `proxy_read_timeout` for a quiet server or client. */
  timeouts: { connectMs: 5000, responseMs: 60_000, clientMs: 60_000 },
  /** Two other servers, as the design shows; never more than the pool has. */
  retries: 2,
  /** Envoy's retry budget: retries stay below 20% of the requests in flight (at least 3 at once), so a failing pool cannot be stormed. */
  retryBudgetPercent: 20,
  retryBudgetMinimum: 3,
  /** Envoy's healthy_panic_threshold. */
  panicThreshold: 50,
  maxSockets: 256,
  /**
   * The queue: HAProxy's `timeout queue` defaults to `timeout connect`; a size that absorbs a
   * burst without letting memory grow without bound.
   */
  queue: { size: 1024 },
  /** Below Node's own 5 s keep-alive timeout, so we close idle sockets before the server does. */
  idleSocketMs: 4000,
  retryAfterS: 5,
  /** 64 MiB of bodies held for retries at once: beyond it requests stream and are not retried. */
  maxBufferedBytes: 64 * 1024 * 1024,
  cookieName: 'sy',
  /** An hour: a working session, not a permanent pin. */
  ttlMs: 3_600_000,
});
