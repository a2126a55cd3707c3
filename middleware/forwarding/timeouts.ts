import { performance } from 'node:perf_hooks';
import type { Pool } from '../pool/pool.js';
import { Exchange } from './exchange.js';

export type Expiry = 'connect' | 'response' | 'client';

/** A sweep at least this often, and never more often than the shortest timeout allows. */
const MAX_PERIOD_MS = 250;
const MIN_PERIOD_MS = 10;

/**
 * Connect, server and client timeouts for every request in flight, found by one periodic
 * sweep instead of timers per request (HAProxy's scheduler works this way too: expiry
 * dates, checked as it runs). Progress is read from the byte counters sockets keep anyway,
 * so a request costs no timer, no listener and no allocation for its timeouts; a timeout
 * fires within a quarter of its length (at most 250 ms) after it is due.
 *
 * - connect: no connected socket to the server within `connectMs` of the attempt, queueing
 *   for a pooled socket included;
 * - response: while we wait on the server (the request is in), no byte from it for `responseMs`
 *   (`retry.perTryTimeoutMs`, when shorter, before the answer starts);
 * - client: while we wait on the client (its body is still coming, being read for retries, or
 *   it is not reading the response), no byte moved on its connection for `clientMs`.
 */
export class TimeoutSweep {
  readonly #pools: readonly Pool[];
  readonly #expire: (exchange: Exchange, expiry: Expiry) => void;
  readonly #timer: NodeJS.Timeout;

  constructor(pools: readonly Pool[], shortest: number, expire: (exchange: Exchange, expiry: Expiry) => void) {
    this.#pools = pools;
    this.#expire = expire;
    const period = Math.max(MIN_PERIOD_MS, Math.min(MAX_PERIOD_MS, Math.floor(shortest / 4)));
    this.#timer = setInterval(() => this.sweep(performance.now()), period);
    this.#timer.unref();
  }

  sweep(now: number): void {
    for (const pool of this.#pools) {
      for (const server of pool.servers) {
        server.inFlight.forEach((item) => {
          if (item instanceof Exchange && !item.done && item.holding) this.#check(item, now);
        });
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #check(exchange: Exchange, now: number): void {
    const { timeouts, retry } = exchange.policy;
    if (exchange.phase === 'buffering') {
      // reading a body for retries: only the client can be slow here
      const bytesRead = exchange.req.socket.bytesRead;
      if (bytesRead !== exchange.clientBytes) {
        exchange.clientBytes = bytesRead;
        exchange.clientMovedAt = now;
      }
      if (now - exchange.clientMovedAt > timeouts.clientMs) this.#expire(exchange, 'client');
      return;
    }
    const socket = exchange.proxyReq?.socket;
    if (!socket || socket.connecting) {
      if (now - exchange.started > timeouts.connectMs) this.#expire(exchange, 'connect');
      return;
    }
    const { req, res } = exchange;
    const client = req.socket;
    const clientBytes = client.bytesRead + client.bytesWritten;
    const serverBytes = socket.bytesRead;
    if (clientBytes !== exchange.clientBytes) {
      exchange.clientBytes = clientBytes;
      exchange.clientMovedAt = now;
    }
    if (serverBytes !== exchange.serverBytes) {
      exchange.serverBytes = serverBytes;
      exchange.serverMovedAt = now;
    }
    const waitingOnClient = !req.complete || res.writableNeedDrain;
    if (waitingOnClient) {
      exchange.serverMovedAt = now; // the server is not to blame for the wait
      if (now - exchange.clientMovedAt > timeouts.clientMs) this.#expire(exchange, 'client');
    } else {
      exchange.clientMovedAt = now;
      // before the answer starts, one try may wait less than the response timeout (retry.perTryTimeoutMs)
      const limit = exchange.responded ? timeouts.responseMs : Math.min(timeouts.responseMs, retry.perTryTimeoutMs);
      if (now - exchange.serverMovedAt > limit) this.#expire(exchange, 'response');
    }
  }
}
