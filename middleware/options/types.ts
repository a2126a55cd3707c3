import type { AffinityStore } from '../affinity/store.js';
import type { Algorithm, AlgorithmName } from '../algorithms/algorithm.js';
import type { ControlStore } from '../control/store.js';
import type { IncomingMessage } from 'node:http';
import type { TrustProxy } from '../forwarding/trust.js';
import type { Hooks } from '../hooks.js';
import type { Logger, LogStyle } from '../logger.js';

/** What users write. Every default is in `defaults.ts`, with its reason. */

export interface ServerOptions {
  /** Unique within its pool; shown on the dashboard, never sent to clients. */
  id: string;
  /** `http://host:port` or `https://host:port`, optionally with a base path. */
  url: string;
  /** Share of traffic relative to the pool's other servers, 0 to 256; 0 takes no new requests. Default 1. */
  weight?: number;
  /** Takes traffic only when no primary server is eligible. Default false. */
  backup?: boolean;
  /** Free-form tags, e.g. `{ version: 'v2' }`; rollouts select canaries by them. */
  labels?: Record<string, string>;
}

/** What a custom check is given besides the server: `signal` aborts at the check's timeout. */
export interface CheckContext {
  signal: AbortSignal;
}

export type CustomCheck = (server: { id: string; url: string }, context: CheckContext) => Promise<boolean> | boolean;

export type HealthCheckOptions =
  | ({ type: 'tcp' } & HealthCheckTiming & TcpCheckOptions)
  | ({ type: 'http' } & HealthCheckTiming & HttpCheckOptions)
  | ({ type: 'custom'; check: CustomCheck } & HealthCheckTiming);

export interface HealthCheckTiming {
  intervalMs?: number;
  timeoutMs?: number;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
  /** Random share of the interval added or taken away, so that instances do not probe in lockstep. */
  jitter?: number;
}

/** HAProxy's `tcp-check send` / `tcp-check expect`, NGINX's `match { send; expect; }`. */
export interface TcpCheckOptions {
  /** Written once the connection opens, e.g. `'PING\r\n'`. */
  send?: string | Buffer;
  /** What the answer must start with (a string), or match (a RegExp); without it, connecting passes. */
  expect?: string | RegExp;
}

export interface HttpCheckOptions {
  path?: string;
  method?: string;
  /** The `Host` header to send; default the server's own host. */
  host?: string;
  /** Statuses that pass: a list, or a range like `'200-399'`. */
  expectStatus?: number[] | string;
  /** A substring the body must contain. */
  expectBody?: string;
}

export interface PassiveHealthOptions {
  /** Consecutive failures that eject a server. */
  consecutiveFailures?: number;
  /** Whether 5xx responses count as failures (connect errors and timeouts always do). */
  include5xx?: boolean;
  /** First ejection time; each further ejection of the same server multiplies it. */
  baseEjectionMs?: number;
  maxEjectionMs?: number;
  /** Never eject more than this share of a pool's primary servers at once (unless backups can take over). */
  maxEjectedPercent?: number;
  /** Also eject on a failure rate over a sliding window (Envoy's failure_percentage outlier detection). Off by default. */
  errorRate?: ErrorRateOptions;
}

export interface TimeoutOptions {
  /** Opening a connection to a server; 504 past it. */
  connectMs?: number;
  /** Server inactivity once the request is sent (no response bytes for this long); 504 past it. */
  responseMs?: number;
  /** Client inactivity while a request is proxied (a slow or stalled client); the connection is closed. */
  clientMs?: number;
}

/** A TCP pool's timeouts. */
export interface TcpTimeoutOptions {
  /** Opening a connection to a server; past it the next server is tried. Default 5000. */
  connectMs?: number;
  /** No byte either way for this long closes both sides (NGINX's `proxy_timeout`). Default 600000 (10 min). */
  idleMs?: number;
}

export interface TlsOptions {
  /** Extra CAs to trust for https servers (a private CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify server certificates. Default true; turn off only for tests. */
  rejectUnauthorized?: boolean;
}

export interface PoolStickyOptions {
  /** Forward the affinity cookie to the backends too. Default false. */
  forwardCookie?: boolean;
}

/** What a retry may follow: a connection never made, a connection cut before any answer, no answer in time, or an answer with one of these statuses. */
export type RetryOn = 'connect-failure' | 'reset' | 'timeout' | number;

export interface RetryOptions {
  /** Default `['connect-failure', 'reset']` (NGINX's `proxy_next_upstream error`). */
  on?: RetryOn[];
  /** Other servers tried at most. Default 2 (the pool's `retries`). */
  tries?: number;
  /** No answer within this long on one try: a timeout (retried when `on` has 'timeout'). Default the response timeout. */
  perTryTimeoutMs?: number;
  /** Wait before a retry: this, doubled each time, with full jitter. Default 0 (another server at once). */
  backoffMs?: number;
  /** Retries in flight stay below this share of the pool's requests in flight (Envoy's retry budget: 20%, at least 3). */
  budgetPercent?: number;
  /** A request carrying an `Idempotency-Key` header may be retried whatever its method. Default false. */
  idempotencyKey?: boolean;
}

export interface ErrorRateOptions {
  /** Share of failed requests (connect errors, timeouts, resets, malformed answers, 5xx) that ejects, 0 to 1. */
  threshold: number;
  /** Requests in the window before the rule may eject. Default 20. */
  minRequests?: number;
  /** The sliding window. Default 10000. */
  windowMs?: number;
}

export interface QueueOptions {
  /** Requests that may wait for a free server; one more is answered 503 `QUEUE_FULL`. */
  size?: number;
  /** How long a request may wait; past it, 503 `QUEUE_TIMEOUT`. */
  timeoutMs?: number;
}

/**
 * What `consistent-hash` (and `ip-hash`) keys on: the client address (`'ip'`, the default), a
 * header (`'header:x-user-id'`), a cookie (`'cookie:session'`), or a function of the request,
 * which runs after the app's own middleware (under `express()` it can read `req.user.id`).
 * A request without the key falls back to its client address.
 */
export type HashKey = 'ip' | `header:${string}` | `cookie:${string}` | ((req: IncomingMessage) => string | undefined);

export interface HashOptions {
  key?: HashKey;
  /** Bounded loads: no server takes more than this times its share of what is in flight (HAProxy hash-balance-factor 125, as 1.25). Default 1.25. */
  balanceFactor?: number;
}

export interface PoolOptions {
  /** `'tcp'`: a layer 4 pool (servers `tcp://host:port` or `tls://host:port`), served by `balancer.tcp()` / `listenTcp()`. Default `'http'`. */
  protocol?: 'http' | 'tcp';
  /** TCP pools: send a PROXY protocol header first (HAProxy's `send-proxy` / `send-proxy-v2`). */
  proxyProtocol?: 'v1' | 'v2';
  servers: ServerOptions[];
  algorithm?: AlgorithmName | Algorithm;
  /** For `consistent-hash` and `ip-hash`. */
  hash?: HashOptions;
  healthCheck?: HealthCheckOptions | false;
  passiveHealth?: PassiveHealthOptions | false;
  slowStartMs?: number;
  drainTimeoutMs?: number;
  sticky?: boolean | PoolStickyOptions;
  /** HTTP pools: `TimeoutOptions`; TCP pools: `{ connectMs, idleMs }`. */
  timeouts?: TimeoutOptions | TcpTimeoutOptions;
  /** Other servers tried after a refused connection or a reset; shorthand for `retry: { tries }`. */
  retries?: number;
  retry?: RetryOptions;
  /**
   * When fewer than this percentage of the pool's active primaries are healthy (and no backup
   * is), balance over all of them: the health checks are more likely wrong than most servers
   * dead (Envoy's healthy_panic_threshold). Default 50; 0 turns it off.
   */
  panicThreshold?: number;
  /** Requests (and WebSockets) in flight per server at most; more wait in the pool's queue. */
  maxConnections?: number;
  queue?: QueueOptions;
  /** Most sockets open to each server at once (the keep-alive agent's cap). */
  maxSockets?: number;
  /** Close idle keep-alive sockets after this long; keep it below the servers' own keep-alive timeout. */
  idleSocketMs?: number;
  /** Send the server's host as `Host` instead of the client's. Default false. */
  changeOrigin?: boolean;
  tls?: TlsOptions;
  /** Seconds in the `Retry-After` header of a 503. */
  retryAfterS?: number;
  /**
   * Rewrite `Location`, `Content-Location` and `Set-Cookie` `Domain`/`Path` from the server's
   * address and base path to what the client sees (NGINX's `proxy_redirect default`,
   * http-proxy's `autoRewrite` and `cookieDomainRewrite`). Default true.
   */
  rewriteOrigin?: boolean;
}

export type HeaderMatch = string | RegExp;

export interface RouteOptions {
  pool: string;
  /** Segment prefix on the normalised path: `/api` matches `/api` and `/api/x`, not `/apix`. */
  path?: string;
  /** Exact host (port ignored), `*.example.com`, or a RegExp. */
  host?: string | RegExp;
  header?: Record<string, HeaderMatch>;
  cookie?: Record<string, HeaderMatch>;
  method?: string | string[];
  /** Removed from the front of the path sent upstream. */
  stripPrefix?: string;
  /**
   * Rewrite the path (with its query) sent upstream, after `stripPrefix`: patterns to
   * replacements, applied in order (`{ '^/v1/': '/v2/' }`, as HPM's `pathRewrite`), or a function.
   */
  rewrite?: PathRewrite;
  /** This route's own hooks, run after the balancer's. */
  hooks?: Hooks;
  /** Override the pool's timeouts for this route (NGINX sets them per location). */
  timeouts?: TimeoutOptions;
  /** Override the pool's retry policy for this route. */
  retry?: RetryOptions;
}

export type PathRewrite = Record<string, string> | ((path: string, req: IncomingMessage) => string);

export interface RequestIdOptions {
  /** Default `x-request-id`. */
  header?: string;
  /** Makes an id when the request brings none (or an untrusted one). Default `crypto.randomUUID`. */
  generate?: () => string;
}

export interface StickyOptions {
  /** Signs affinity cookies; required when any pool is sticky. At least 16 characters. */
  secret?: string;
  /** Older secrets still accepted, so that the secret can be rotated. */
  previousSecrets?: string[];
  cookieName?: string;
  ttlMs?: number;
  store?: AffinityStore;
}

export interface ControlOptions {
  /** Where control state lives: in this process (default), or `new RedisControlStore(redis)` to share it. */
  store?: ControlStore;
  /** This instance's name in the fleet view. Default: host name, pid and a random suffix. */
  instanceId?: string;
  /**
   * The configured servers seed the shared state only when it is empty (`'if-empty'`, the
   * default), so operator changes survive restarts; `'replace'` overwrites it with the configuration.
   */
  seed?: 'if-empty' | 'replace';
}

export interface BalancerOptions {
  pools: Record<string, PoolOptions>;
  /** First match wins. Without routes, a balancer with one pool sends it every request. */
  routes?: RouteOptions[];
  sticky?: StickyOptions;
  /**
   * Which proxies in front to believe about the client (X-Forwarded-*): what Express's `trust
   * proxy` accepts. Default: under `express()` the app's own `trust proxy` setting, under `koa()`
   * the app's `proxy` flag, else nothing.
   */
  trustProxy?: TrustProxy;
  /** Match route paths case-sensitively. Default false, as Express does. */
  caseSensitive?: boolean;
  /** Request bodies held in memory at once for retries, across all requests; past it, requests stream and are not retried. */
  maxBufferedBytes?: number;
  control?: ControlOptions;
  /** Hooks for every route; a route's own `hooks` run after these. */
  hooks?: Hooks;
  /** Keep a trusted incoming `X-Request-Id` or make one, send it upstream and back. `false` turns it off. */
  requestId?: RequestIdOptions | false;
  logger?: Logger;
  /** How `logger` takes arguments; detected (pino-like loggers are object-first). */
  logStyle?: LogStyle;
}
