import { LatencyWindow, type Histogram, type Percentiles } from '../stats/latency-window.js';
import { RateWindow } from '../stats/rate-window.js';

/** Why a TCP connection ended: who closed first, the idle timeout, a drain or shutdown cutting it, an error. */
export type CloseCause = 'client' | 'server' | 'idle' | 'drain' | 'error';

export interface TcpStatsSnapshot {
  /** Connections proxied to the server since start (connect attempts that succeeded or not). */
  connections: number;
  /** Connections started per second over the last ten seconds. */
  connectionsPerSecond: number;
  /** Bytes from clients to the server, and from the server to clients (live, open connections included). */
  bytesIn: number;
  bytesOut: number;
  /** Connects that failed: refused or reset (`refused`), or not made within connectMs (`timeout`). */
  connectErrors: { refused: number; timeout: number };
  /** Time to open the connection (and finish TLS), over the last minute. */
  connectMs: Percentiles;
  connectTime: Histogram;
  /** Ended connections by cause. */
  closed: Record<CloseCause, number>;
  /** Bytes the relay holds for this server's open connections now (stream buffers both ways): stays small, whatever the transfer. */
  bufferedBytes: number;
}

/** What the open connections of a server hold in buffers now, and have moved so far. */
export interface OpenFigures {
  held: number;
  bytesIn: number;
  bytesOut: number;
}

/** One TCP server's counters: plain numbers on the relay's path, derived figures only in snapshot(). */
export class TcpStats {
  connections = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly connectErrors = { refused: 0, timeout: 0 };
  readonly closed: Record<CloseCause, number> = { client: 0, server: 0, idle: 0, drain: 0, error: 0 };
  /** Set by the relay: what its open connections on this server hold and have moved so far. */
  open: () => OpenFigures = () => ({ held: 0, bytesIn: 0, bytesOut: 0 });
  readonly #connect = new LatencyWindow();
  readonly #rate = new RateWindow();

  started(now: number): void {
    this.connections++;
    this.#rate.record(now);
  }

  connected(ms: number, now: number): void {
    this.#connect.record(ms, now);
  }

  snapshot(now = Date.now()): TcpStatsSnapshot {
    // ended connections are counted here; open ones are read off their sockets, so nothing is counted per chunk
    const open = this.open();
    return {
      connections: this.connections,
      connectionsPerSecond: this.#rate.perSecond(now),
      bytesIn: this.bytesIn + open.bytesIn,
      bytesOut: this.bytesOut + open.bytesOut,
      connectErrors: { ...this.connectErrors },
      connectMs: this.#connect.percentiles(now),
      connectTime: this.#connect.histogram(),
      closed: { ...this.closed },
      bufferedBytes: open.held,
    };
  }
}
