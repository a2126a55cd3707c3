import type { AffinityStore } from '../affinity/store.js';
import type { Algorithm, AlgorithmName } from '../algorithms/algorithm.js';
import type { ControlStore } from '../control/store.js';
import type { IncomingMessage } from 'node:http';
import type { Trust } from '../forwarding/trust.js';
import type { Hooks } from '../hooks.js';
import type { SafeLogger } from '../logger.js';
import type { CustomCheck, ErrorRateOptions, HeaderMatch, PassiveHealthOptions, PoolStickyOptions, TimeoutOptions, TlsOptions } from './types.js';

/** What the rest of the code reads: every field present, frozen. */

export interface HealthCheckConfig {
  type: 'tcp' | 'http' | 'custom';
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  jitter: number;
  path: string;
  method: string;
  host: string | undefined;
  expectStatus: (status: number) => boolean;
  expectStatusText: string;
  expectBody: string | undefined;
  check: CustomCheck | undefined;
  /** TCP checks: bytes written on connect, and what the answer must start with or match. */
  send: Buffer | undefined;
  expect: string | RegExp | undefined;
}

export interface PassiveHealthConfig extends Required<Omit<PassiveHealthOptions, 'errorRate'>> {
  errorRate: Required<ErrorRateOptions> | null;
}

export interface RetryConfig {
  connectFailure: boolean;
  reset: boolean;
  timeout: boolean;
  statuses: ReadonlySet<number>;
  tries: number;
  perTryTimeoutMs: number;
  backoffMs: number;
  budgetPercent: number;
  idempotencyKey: boolean;
}

/** What governs one request's attempts: the pool's, or a route's overrides of them. */
export interface RequestPolicy {
  timeouts: Required<TimeoutOptions>;
  retry: RetryConfig;
}

export interface ServerConfig {
  id: string;
  url: string;
  weight: number;
  backup: boolean;
  labels: Readonly<Record<string, string>>;
}

/** A TCP pool's own settings (see middleware/tcp/options.ts). */
export interface TcpPoolConfig {
  connectMs: number;
  idleMs: number;
  proxyProtocol: 'v1' | 'v2' | null;
  /** Other servers tried after a refused or timed-out connect. */
  tries: number;
}

export interface PoolConfig {
  name: string;
  protocol: 'http' | 'tcp';
  /** Set for TCP pools only. */
  tcp: TcpPoolConfig | null;
  /** The configured servers: what seeds the control state. The live membership is `pool.records()`. */
  initialServers: ServerConfig[];
  algorithm: AlgorithmName | Algorithm;
  hash: { key: ((req: IncomingMessage) => string | undefined) | undefined; balanceFactor: number };
  healthCheck: HealthCheckConfig | null;
  passiveHealth: PassiveHealthConfig | null;
  slowStartMs: number;
  drainTimeoutMs: number;
  sticky: Required<PoolStickyOptions> | null;
  timeouts: Required<TimeoutOptions>;
  retry: RetryConfig;
  /** The pool's own policy (routes may override it). */
  policy: RequestPolicy;
  panicThreshold: number;
  maxConnections: number;
  queue: { size: number; timeoutMs: number };
  maxSockets: number;
  idleSocketMs: number;
  changeOrigin: boolean;
  tls: TlsOptions;
  retryAfterS: number;
  rewriteOrigin: boolean;
}

export interface RouteConfig {
  pool: string;
  path: string;
  host: string | RegExp | undefined;
  header: Array<[string, HeaderMatch]>;
  cookie: Array<[string, HeaderMatch]>;
  methods: string[] | undefined;
  stripPrefix: string | undefined;
  /** The path (with query) sent upstream, from the one after stripPrefix. */
  rewrite: ((path: string, req: IncomingMessage) => string) | undefined;
  /** The balancer's hooks, then this route's, grouped by kind. */
  hooks: RouteHooks;
  /** Position in `routes`, for records and logs. */
  index: number;
  /** The pool's timeouts and retry policy, with this route's overrides. */
  policy: RequestPolicy;
}

export interface RouteHooks {
  request: ReadonlyArray<NonNullable<Hooks['request']>>;
  response: ReadonlyArray<NonNullable<Hooks['response']>>;
  error: ReadonlyArray<NonNullable<Hooks['error']>>;
  finish: ReadonlyArray<NonNullable<Hooks['finish']>>;
}

export interface StickyConfig {
  secret: string;
  previousSecrets: string[];
  cookieName: string;
  ttlMs: number;
  store: AffinityStore | undefined;
}

export interface ControlConfig {
  store: ControlStore | undefined;
  instanceId: string;
  seed: 'if-empty' | 'replace';
}

export interface BalancerConfig {
  pools: PoolConfig[];
  routes: RouteConfig[];
  sticky: StickyConfig | null;
  /** null: follow the host app's own setting where it has one, else trust nothing. */
  trustProxy: Trust | null;
  caseSensitive: boolean;
  requestId: { header: string; generate: () => string } | null;
  maxBufferedBytes: number;
  control: ControlConfig;
  logger: SafeLogger;
}
