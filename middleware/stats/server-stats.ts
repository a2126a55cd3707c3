import { LatencyWindow, type Histogram, type Percentiles } from './latency-window.js';
import { RateWindow } from './rate-window.js';
import { TcpStats, type TcpStatsSnapshot } from '../tcp/tcp-stats.js';

/**
 * How one forwarded request ended, as far as the server's record is concerned: `invalid` is a
 * response that could not be relayed (a malformed status line, headers or framing).
 */
export type Outcome = 'ok' | 'http4xx' | 'http5xx' | 'connect' | 'timeout' | 'reset' | 'invalid' | 'aborted';

export interface ErrorCounts {
  connect: number;
  timeout: number;
  reset: number;
  invalid: number;
  http5xx: number;
  http4xx: number;
}

/** Finished requests by the status class of their response; `none`: no response came. */
export interface StatusCounts {
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  none: number;
}

const CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export interface StatsSnapshot {
  requests: number;
  statuses: StatusCounts;
  errors: ErrorCounts;
  bytesIn: number;
  bytesOut: number;
  rps: number;
  latencyMs: Percentiles;
  latency: Histogram;
  /** TCP pools' servers only: connection figures. */
  tcp?: TcpStatsSnapshot;
}

/** Per-server counters: plain numbers on the hot path, derived figures only in snapshot(). */
export class ServerStats {
  requests = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly errors: ErrorCounts = { connect: 0, timeout: 0, reset: 0, invalid: 0, http5xx: 0, http4xx: 0 };
  readonly statuses: StatusCounts = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
  /** Set for a TCP pool's servers. */
  readonly tcp: TcpStats | undefined;
  #latency = new LatencyWindow();
  #rate = new RateWindow();

  constructor(tcp = false) {
    this.tcp = tcp ? new TcpStats() : undefined;
  }

  /** Count a request as it starts, so rps reflects load even when responses are slow. */
  started(now: number): void {
    this.requests++;
    this.#rate.record(now);
  }

  /**
   * Record how a request ended; latency only for requests that got a response, unless it was
   * counted already (a WebSocket's handshake, at its 101).
   */
  finished(outcome: Outcome, latencyMs: number, bytesIn: number, bytesOut: number, now: number, countLatency = true, status = 0): void {
    this.statuses[CLASSES[status >= 100 && status <= 599 ? Math.floor(status / 100) : 0]!]++;
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    if (countLatency && (outcome === 'ok' || outcome === 'http4xx' || outcome === 'http5xx')) this.#latency.record(latencyMs, now);
    if (outcome !== 'ok' && outcome !== 'aborted') this.errors[outcome]++;
  }

  /** A response time measured apart from the request's end (a WebSocket's handshake). */
  latency(ms: number, now = Date.now()): void {
    this.#latency.record(ms, now);
  }

  snapshot(now = Date.now()): StatsSnapshot {
    return {
      requests: this.requests,
      statuses: { ...this.statuses },
      errors: { ...this.errors },
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      rps: this.#rate.perSecond(now),
      latencyMs: this.#latency.percentiles(now),
      latency: this.#latency.histogram(),
      ...(this.tcp ? { tcp: this.tcp.snapshot(now) } : {}),
    };
  }
}
