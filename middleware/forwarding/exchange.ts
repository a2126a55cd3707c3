import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Pinning } from '../affinity/affinity.js';
import type { PickContext } from '../algorithms/algorithm.js';
import type { InFlight, InFlightList } from '../pool/in-flight.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';

/**
 * One proxied request from start to end, across retries. It is also the algorithm's pick
 * context and the pool's in-flight handle, so that a request allocates one object of ours.
 */
export class Exchange implements PickContext, InFlight {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly pool: Pool;
  readonly clientAddress: string;
  /** The TCP peer (the proxy in front, when there is one). */
  readonly peerAddress: string;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly now: number;
  /** What affinity found for a sticky pool; the server that answers is pinned from it. */
  pinning: Pinning | undefined;
  /** The request body, when it had to be read first so that a retry can resend it. */
  body: Buffer | undefined;
  /** Servers already tried; created on the first retry only. */
  tried: Set<Server> | undefined;
  retriesLeft: number;
  done = false;
  inFlightPrev: InFlight | null = null;
  inFlightNext: InFlight | null = null;
  inFlightOn: InFlightList | null = null;

  // the current attempt
  server!: Server;
  started = 0;
  proxyReq: ClientRequest | undefined;
  timedOut: 'connect' | 'response' | undefined;
  /** Byte counts and when they last moved, kept by the timeout sweep. */
  clientBytes = -1;
  clientMovedAt = 0;
  serverBytes = -1;
  serverMovedAt = 0;
  responded = false;
  /** How the response went, by its status; final once the client has it all. */
  outcome: Outcome = 'ok';
  attemptOpen = false;
  bytesOut = 0;
  /** Body bytes relayed to the server, counted only for a body without Content-Length. */
  chunkedBytesIn = 0;

  constructor(req: IncomingMessage, res: ServerResponse, pool: Pool, path: string, peerAddress: string, clientAddress: string, now: number) {
    this.req = req;
    this.res = res;
    this.pool = pool;
    this.path = path;
    this.clientAddress = clientAddress;
    this.peerAddress = peerAddress;
    this.method = req.method ?? 'GET';
    this.headers = req.headers;
    this.now = now;
    this.retriesLeft = pool.config.retries;
  }

  /** Cut the request (a drain timeout or close()): the client sees its connection end. */
  abort(): void {
    this.proxyReq?.destroy();
    this.res.destroy();
  }

  /** End the current attempt once: count it on its server and release it. */
  endAttempt(outcome: Outcome, endedAt: number): void {
    if (!this.attemptOpen) return;
    this.attemptOpen = false;
    const bytesIn = Number(this.req.headers['content-length']) || this.chunkedBytesIn;
    // counted in the window the request started in: one clock read fewer per request
    this.server.stats.finished(outcome, endedAt - this.started, bytesIn, this.bytesOut, this.now);
    this.pool.release(this.server, this, outcome);
  }
}
