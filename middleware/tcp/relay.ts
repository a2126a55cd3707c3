import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { Candidate, PickContext } from '../algorithms/algorithm.js';
import type { InFlight, InFlightList } from '../pool/in-flight.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import type { TlsOptions } from '../options/types.js';
import { proxyHeader } from './proxy-protocol.js';
import type { CloseCause, OpenFigures, TcpStats } from './tcp-stats.js';

/** Where a TCP server is, parsed once per server. */
interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
}

const endpoints = new WeakMap<Server, Endpoint>();
/** Stats whose `held` already reads this relay. */
const heldSet = new WeakSet<TcpStats>();

function endpointOf(server: Server): Endpoint {
  let endpoint = endpoints.get(server);
  if (!endpoint) {
    const url = new URL(server.url);
    endpoint = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port), tls: url.protocol === 'tls:' };
    endpoints.set(server, endpoint);
  }
  return endpoint;
}

/** TLS to the server, verified as HTTP pools verify https servers: the pool's CA, SNI for host names. */
function tlsOptions(endpoint: Endpoint, config: TlsOptions): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { host: endpoint.host, port: endpoint.port, rejectUnauthorized: config.rejectUnauthorized !== false };
  if (!net.isIP(endpoint.host)) options.servername = endpoint.host;
  if (config.ca !== undefined) options.ca = config.ca;
  return options;
}

/**
 * One client connection, from accept to both sides closed. It is in flight on its server from
 * the connect attempt on, as an HTTP request is: least-connections counts it, a drain waits for
 * it and at the deadline `abort()` cuts it (HAProxy's `shutdown sessions`).
 */
class Connection implements InFlight, PickContext {
  inFlightPrev: InFlight | null = null;
  inFlightNext: InFlight | null = null;
  inFlightOn: InFlightList | null = null;
  readonly clientAddress: string;
  now: number;
  exclude: Set<Candidate> | undefined;
  server: Server | undefined;
  upstream: net.Socket | undefined;
  connectTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the current connect attempt began. */
  attemptAt = 0;
  connected = false;
  done = false;
  cause: CloseCause | undefined;
  /** Sockets still open; the connection ends when both have closed. */
  open = 2;
  headerBytes = 0;
  /** Bytes through the client socket at the last idle sweep, and since when that count stood still. */
  moved = 0;
  quietSince = 0;

  constructor(readonly relay: TcpRelay, readonly client: net.Socket) {
    this.clientAddress = client.remoteAddress ?? '';
    this.now = Date.now();
  }

  abort(): void {
    this.cause ??= 'drain';
    this.relay.destroy(this);
  }
}

export interface TcpRelayOptions {
  /** Report a socket error worth an operator's attention (never thrown). */
  warn(message: string, fields: Record<string, unknown>): void;
}

/**
 * A TCP pool's connection handler: pick a server with the pool's algorithm, connect within
 * connectMs, on a refused or timed-out connect try another (nothing has been forwarded yet),
 * then write the PROXY header if any and pipe both ways. Backpressure is `pipe()`'s: a side
 * that cannot take more pauses the other, so the relay holds at most a stream buffer per
 * direction. Bytes the client sends before the server answers stay in the client socket's
 * readable buffer (capped at its high-water mark, then the kernel and TCP's window hold the
 * client back). Both sides are half-open: a FIN is passed on and the other direction keeps
 * flowing, as NGINX's `proxy_half_close on`; the idle timeout closes both.
 */
export class TcpRelay {
  readonly pool: Pool;
  readonly #options: TcpRelayOptions;
  readonly #connectMs: number;
  readonly #idleMs: number;
  readonly #tries: number;
  readonly #proxyProtocol: 'v1' | 'v2' | null;
  #closed = false;
  /** Relayed connections, for the idle sweep. */
  readonly #relayed = new Set<Connection>();
  #sweep: NodeJS.Timeout | undefined;
  /** Connections refused because no server was eligible or all were at maxConnections. */
  refused = 0;

  constructor(pool: Pool, options: TcpRelayOptions) {
    const tcp = pool.config.tcp;
    if (!tcp) throw new TypeError(`pool "${pool.name}" is not a TCP pool`);
    this.pool = pool;
    this.#options = options;
    this.#connectMs = tcp.connectMs;
    this.#idleMs = tcp.idleMs;
    this.#tries = tcp.tries;
    this.#proxyProtocol = tcp.proxyProtocol;
  }

  /** The `net.Server` 'connection' listener. Never throws; every socket error is handled here. */
  readonly handle = (client: net.Socket): void => {
    // a server made without allowHalfOpen would end our side at the client's FIN: keep the reply direction open
    client.allowHalfOpen = true;
    client.on('error', () => {
      // ECONNRESET and friends: the 'close' that follows ends the connection
    });
    if (this.#closed || client.destroyed) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const conn = new Connection(this, client);
    client.once('close', (hadError) => this.#socketClosed(conn, client, hadError));
    client.once('end', () => (conn.cause ??= 'client'));
    this.#attempt(conn);
  };

  /** Stop taking connections; those open stay until the pool settles them. */
  close(): void {
    this.#closed = true;
  }

  /** What this server's open connections hold in stream buffers (both ways) now, and the bytes they moved so far. */
  openFigures(server: Server): OpenFigures {
    const figures = { held: 0, bytesIn: 0, bytesOut: 0 };
    server.inFlight.forEach((item) => {
      const conn = item as Connection;
      figures.held += conn.client.writableLength + conn.client.readableLength;
      const upstream = conn.upstream;
      if (!upstream || !conn.connected) return;
      figures.held += upstream.writableLength + upstream.readableLength;
      figures.bytesIn += Math.max(0, upstream.bytesWritten - conn.headerBytes);
      figures.bytesOut += upstream.bytesRead;
    });
    return figures;
  }

  /** Cut both sides now (a drain deadline, shutdown, an error, the idle timeout). */
  destroy(conn: Connection): void {
    conn.client.destroy();
    conn.upstream?.destroy();
    if (!conn.connected) this.#end(conn, conn.cause === 'drain' ? 'aborted' : 'reset');
  }

  #attempt(conn: Connection): void {
    if (conn.client.destroyed) return;
    conn.now = Date.now();
    const choice = this.pool.choose(conn);
    if (choice === undefined || choice === 'full') {
      this.refused++;
      conn.done = true;
      conn.client.destroy();
      return;
    }
    const server = choice;
    const stats = server.stats.tcp!;
    if (!heldSet.has(stats)) {
      heldSet.add(stats);
      stats.open = () => this.openFigures(server);
    }
    conn.server = server;
    conn.connected = false;
    conn.attemptAt = performance.now();
    this.pool.acquire(server, conn);
    server.stats.started(conn.now);
    stats.started(conn.now);
    const endpoint = endpointOf(server);
    const config = this.pool.config.tls;
    const upstream = endpoint.tls
      ? tls.connect(tlsOptions(endpoint, config))
      : net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
    upstream.allowHalfOpen = true;
    conn.upstream = upstream;
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!conn.connected) return this.#connectFailed(conn, upstream, 'connect', stats);
      conn.cause ??= 'error';
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') this.#options.warn(`tcp pool "${this.pool.name}": server ${server.id}: ${error.code ?? error.message}`, { pool: this.pool.name, server: server.id });
      this.destroy(conn);
    });
    conn.connectTimer = setTimeout(() => this.#connectFailed(conn, upstream, 'timeout', stats), this.#connectMs);
    upstream.once(endpoint.tls ? 'secureConnect' : 'connect', () => this.#connected(conn, upstream, stats));
  }

  #connectFailed(conn: Connection, upstream: net.Socket, kind: 'connect' | 'timeout', stats: TcpStats): void {
    if (conn.connected || conn.upstream !== upstream || conn.done) return;
    clearTimeout(conn.connectTimer);
    upstream.destroy();
    conn.upstream = undefined;
    const server = conn.server!;
    stats.connectErrors[kind === 'connect' ? 'refused' : 'timeout']++;
    server.stats.finished(kind, 0, 0, 0, Date.now(), false);
    this.pool.release(server, conn, kind);
    conn.server = undefined;
    // nothing was forwarded yet: another server may take it (NGINX's proxy_next_upstream)
    conn.exclude ??= new Set();
    conn.exclude.add(server);
    if (conn.exclude.size <= this.#tries && !conn.client.destroyed) return this.#attempt(conn);
    conn.done = true;
    conn.client.destroy();
  }

  #connected(conn: Connection, upstream: net.Socket, stats: TcpStats): void {
    if (conn.upstream !== upstream || conn.done) return;
    clearTimeout(conn.connectTimer);
    conn.connected = true;
    stats.connected(performance.now() - conn.attemptAt, Date.now());
    const { client } = conn;
    if (client.destroyed) {
      upstream.destroy();
      return this.#end(conn, 'aborted');
    }
    upstream.setNoDelay(true);
    if (this.#proxyProtocol) {
      const header = proxyHeader(this.#proxyProtocol, {
        sourceAddress: client.remoteAddress, sourcePort: client.remotePort, destinationAddress: client.localAddress, destinationPort: client.localPort,
      });
      conn.headerBytes = header.length;
      upstream.write(header);
    }
    conn.quietSince = Date.now();
    this.#relayed.add(conn);
    this.#sweep ??= this.#startSweep();
    upstream.once('end', () => (conn.cause ??= 'server'));
    upstream.once('close', (hadError) => this.#socketClosed(conn, upstream, hadError));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /**
   * One side closed. A clean close (both halves done) leaves the other to finish writing what it
   * holds; after an error, the other side is cut too. The connection ends with the second close.
   */
  #socketClosed(conn: Connection, socket: net.Socket, hadError: boolean): void {
    if (!conn.connected) {
      // the client left while we were still connecting: nothing was relayed
      if (socket === conn.client) {
        conn.cause ??= 'client';
        conn.upstream?.destroy();
        if (conn.server) this.#end(conn, 'aborted');
        else conn.done = true;
      }
      return;
    }
    const other = socket === conn.client ? conn.upstream! : conn.client;
    if (hadError || !(socket.readableEnded && socket.writableFinished)) other.destroy();
    else if (!other.writableEnded) other.end();
    if (--conn.open === 0) this.#end(conn, conn.cause === 'error' ? 'reset' : 'ok');
  }

  /**
   * The idle timeout, as a sweep over relayed connections a few times per idleMs: one timer for
   * all, reading byte counters. (A socket timeout re-arms a timer on every read and write, which
   * cost a quarter of the relay's CPU on bulk transfers.) Every relayed byte passes through the
   * client socket, so its counters cover both directions. Closes within idleMs + a quarter of it.
   */
  #startSweep(): NodeJS.Timeout {
    const every = Math.max(10, Math.min(1000, Math.floor(this.#idleMs / 4)));
    const timer = setInterval(() => {
      const now = Date.now();
      for (const conn of this.#relayed) {
        const moved = conn.client.bytesRead + conn.client.bytesWritten;
        if (moved !== conn.moved) {
          conn.moved = moved;
          conn.quietSince = now;
        } else if (now - conn.quietSince >= this.#idleMs) {
          conn.cause ??= 'idle';
          this.destroy(conn);
        }
      }
      if (this.#relayed.size === 0) {
        clearInterval(timer);
        this.#sweep = undefined;
      }
    }, every);
    timer.unref();
    return timer;
  }

  #end(conn: Connection, outcome: Outcome): void {
    this.#relayed.delete(conn);
    if (conn.done) return;
    conn.done = true;
    clearTimeout(conn.connectTimer);
    const server = conn.server;
    if (!server) return;
    const stats = server.stats.tcp!;
    stats.closed[conn.cause ?? (outcome === 'ok' ? 'client' : 'error')]++;
    const upstream = conn.upstream;
    const sent = upstream ? Math.max(0, upstream.bytesWritten - conn.headerBytes) : 0;
    const received = upstream?.bytesRead ?? 0;
    // released first: from then on the open figures no longer include this connection
    this.pool.release(server, conn, outcome);
    stats.bytesIn += sent;
    stats.bytesOut += received;
    server.stats.finished(outcome, 0, sent, received, Date.now(), false);
  }
}
