import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Pinning } from '../affinity/affinity.js';
import type { PickContext } from '../algorithms/algorithm.js';
import type { InFlight, InFlightList } from '../pool/in-flight.js';
import type { Pool } from '../pool/pool.js';
import type { Waiter } from '../pool/queue.js';
import type { Server } from '../pool/server.js';
import type { RouteMatch } from '../routing/routes.js';
import type { RequestPolicy } from '../options.js';
import type { Outcome } from '../stats/server-stats.js';
import type { UpstreamError } from '../errors.js';
import type { BodyPlan } from './body.js';
import type { Trust } from './trust.js';

/**
 * Where a request is on its way:
 * - `lookup`: asking the affinity store;
 * - `queued`: waiting for a server that is not full;
 * - `buffering`: reading a small idempotent body so that a retry can resend it;
 * - `sending`: an attempt is open, no answer yet (a stream body waits for the connection);
 * - `relaying`: the response is coming back;
 * - `backoff`: waiting before a retry.
 */
export type Phase = 'lookup' | 'queued' | 'buffering' | 'sending' | 'relaying' | 'backoff';

/**
 * One proxied request from start to end, across retries. It is also the algorithm's pick
 * context, the pool's in-flight handle and its queue entry, so that a request allocates one
 * object of ours.
 */
export class Exchange implements PickContext, InFlight, Waiter {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly pool: Pool;
  readonly route: RouteMatch;
  readonly clientAddress: string;
  /** The TCP peer (the proxy in front, when there is one). */
  readonly peerAddress: string;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly now: number;
  /** performance.now() when the request reached the balancer, for the finish record's timings. */
  readonly arrived: number;
  /** Which proxies in front are believed about this request, and whether the TCP peer is one. */
  readonly trust: Trust;
  readonly peerTrusted: boolean;
  /** Under `express({ errors: 'next' })`: hand upstream errors to the app's error handler. */
  readonly onError: ((error: UpstreamError) => void) | undefined;
  requestId: string | undefined;
  /** What consistent hashing keys on, when the pool names a key (else the client address). */
  hashKey: string | undefined;
  /** Becomes `bytes` once a body is read for retries, `consumed` once it is sent. */
  body: BodyPlan;
  phase: Phase = 'lookup';
  /** What affinity found for a sticky pool; the server that answers is pinned from it. */
  pinning: Pinning | undefined;
  /** During a rollout: the request's arm, and a new client's session id chosen for its cohort. */
  cohortArm: 'canary' | 'baseline' | undefined = undefined;
  cohortSession: Buffer | undefined = undefined;
  /** Servers already tried (the algorithm leaves them out); created on the first retry only. */
  exclude: Set<Server> | undefined;
  /** The pool's timeouts and retry policy, or the route's overrides of them. */
  readonly policy: RequestPolicy;
  retriesLeft: number;
  /** Servers tried after the first. */
  retries = 0;
  /** On a retry now: counted in the pool's retry budget until the request ends. */
  retrying = false;
  /** Bytes of a body read for retries, counted against the balancer's buffering cap. */
  bufferedBytes = 0;
  done = false;
  inFlightPrev: InFlight | null = null;
  inFlightNext: InFlight | null = null;
  inFlightOn: InFlightList | null = null;
  queuedAt = 0;
  queuePrev: Waiter | null = null;
  queueNext: Waiter | null = null;
  queued = false;
  /** Set by the balancer: what to do once the queue admits this request, or gives up on it. */
  onAdmit: ((server: Server) => void) | undefined;
  onExpire: (() => void) | undefined;

  // the current attempt
  server!: Server;
  /** Counted in flight on `server` (from the pick until the attempt ends). */
  holding = false;
  started = 0;
  proxyReq: ClientRequest | undefined;
  /** The current attempt runs on a connection of its own (a retry after a reused socket was reset). */
  freshConnection = false;
  timedOut: 'connect' | 'response' | undefined;
  /** Byte counts and when they last moved, kept by the timeout sweep. */
  clientBytes = -1;
  clientMovedAt = 0;
  serverBytes = -1;
  serverMovedAt = 0;
  responded = false;
  /** The server's status, once its response head came. */
  status = 0;
  /** How the response went, by its status; final once the client has it all. */
  outcome: Outcome = 'ok';
  bytesOut = 0;
  /** Body bytes relayed to the server, counted only for a body without Content-Length. */
  chunkedBytesIn = 0;
  /** How long it waited in the queue, and when the response head came (performance.now()). */
  queuedMs = 0;
  firstByteAt = 0;
  /** The error code when the balancer answered instead of a server. */
  code: string | undefined;

  constructor(
    req: IncomingMessage, res: ServerResponse, pool: Pool, route: RouteMatch, peerAddress: string, clientAddress: string,
    trust: Trust, peerTrusted: boolean, body: BodyPlan, now: number, arrived: number, onError: ((error: UpstreamError) => void) | undefined,
  ) {
    this.req = req;
    this.res = res;
    this.pool = pool;
    this.route = route;
    this.path = route.path;
    this.clientAddress = clientAddress;
    this.peerAddress = peerAddress;
    this.method = req.method ?? 'GET';
    this.headers = req.headers;
    this.trust = trust;
    this.peerTrusted = peerTrusted;
    this.body = body;
    this.now = now;
    this.arrived = arrived;
    this.onError = onError;
    this.policy = route.route.policy;
    this.retriesLeft = this.policy.retry.tries;
  }

  admit(server: unknown): void {
    this.onAdmit?.(server as Server);
  }

  expire(): void {
    this.onExpire?.();
  }

  /** Cut the request (a drain deadline, a removal, close()): the client sees its connection end. */
  abort(): void {
    this.proxyReq?.destroy();
    this.res.destroy();
  }

  /** Count the request in flight on `server` from its pick on, so that drains and close wait for it. */
  hold(server: Server): void {
    this.server = server;
    this.holding = true;
    this.pool.acquire(server, this);
  }

  /** End the current attempt once: count it on its server and release it. */
  endAttempt(outcome: Outcome, endedAt: number): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.started > 0) {
      const bytesIn = Number(this.req.headers['content-length']) || this.chunkedBytesIn;
      // counted in the window the request started in: one clock read fewer per request
      this.server.stats.finished(outcome, endedAt - this.started, bytesIn, this.bytesOut, this.now, true, this.responded ? this.status : 0);
      this.pool.split?.record(this.server, outcome, endedAt - this.started);
    }
    this.pool.release(this.server, this, outcome);
  }
}
