import type { BalancerSnapshot } from '../middleware/balancer.js';
import type { ServerSnapshot } from '../middleware/pool/server.js';

interface Sample {
  at: number;
  rps: number;
  requests: number;
  errors: number;
}

/** Server-side failures: what an operator wants to see as an error rate (4xx are the client's). */
export function errorCount(server: Pick<ServerSnapshot, 'errors'>): number {
  const { connect, timeout, reset, http5xx } = server.errors;
  return connect + timeout + reset + http5xx;
}

/**
 * The last few snapshots' figures per server, taken once per update tick: the trend lines'
 * points, and the counters from which a recent (not all-time) error rate is derived.
 */
export class History {
  readonly length: number;
  #series = new Map<string, Sample[]>();

  constructor(length = 60) {
    this.length = length;
  }

  record(snapshot: BalancerSnapshot): void {
    const seen = new Set<string>();
    for (const pool of Object.values(snapshot.pools)) {
      for (const server of pool.servers) {
        const key = keyOf(pool.name, server.id);
        seen.add(key);
        let series = this.#series.get(key);
        if (!series) this.#series.set(key, (series = []));
        series.push({ at: snapshot.at, rps: server.rps, requests: server.requests, errors: errorCount(server) });
        if (series.length > this.length) series.shift();
      }
    }
    // removed servers: forget them, so that a new server with the same id starts afresh
    for (const key of this.#series.keys()) if (!seen.has(key)) this.#series.delete(key);
  }

  /** Requests per second, oldest first. */
  trend(pool: string, server: string): number[] {
    return (this.#series.get(keyOf(pool, server)) ?? []).map((sample) => sample.rps);
  }

  /**
   * Share of requests that failed over about the last `windowMs`; all-time while there is no
   * sample old enough, null when no request came in the window.
   */
  errorRate(pool: string, server: ServerSnapshot, now: number, windowMs = 10_000): number | null {
    const series = this.#series.get(keyOf(pool, server.id)) ?? [];
    const from = series.find((sample) => now - sample.at <= windowMs && now - sample.at > 0);
    const requests = server.requests - (from?.requests ?? 0);
    const errors = errorCount(server) - (from?.errors ?? 0);
    return requests > 0 ? Math.min(1, errors / requests) : null;
  }
}

function keyOf(pool: string, server: string): string {
  return `${pool}\0${server}`;
}
