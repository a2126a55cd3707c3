import type { AffinityStore } from './affinity/store.js';
import type { Algorithm, AlgorithmName } from './algorithms/algorithm.js';
import { isAlgorithmName } from './algorithms/index.js';
import { ConfigError } from './errors.js';
import { consoleLogger, type Logger } from './logger.js';
import {
  describe,
  knownKeys,
  oneOf,
  optionalBoolean,
  optionalNumber,
  plainObject,
  requiredString,
  type Plain,
} from './validate.js';

// ---------------------------------------------------------------------------------------
// What users write
// ---------------------------------------------------------------------------------------

export interface ServerOptions {
  /** Unique within its pool; shown on the dashboard, never sent to clients. */
  id: string;
  /** `http://host:port` or `https://host:port`, optionally with a base path. */
  url: string;
  /** Share of traffic relative to the pool's other servers; 0 takes no new requests. Default 1. */
  weight?: number;
  /** Takes traffic only when no primary server is eligible. Default false. */
  backup?: boolean;
}

export type HealthCheckOptions =
  | ({ type: 'tcp' } & HealthCheckTiming)
  | ({ type: 'http' } & HealthCheckTiming & HttpCheckOptions)
  | ({ type: 'custom'; check: (server: { id: string; url: string }) => Promise<boolean> | boolean } & HealthCheckTiming);

export interface HealthCheckTiming {
  intervalMs?: number;
  timeoutMs?: number;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
  /** Random share of the interval added or taken away, so that instances do not probe in lockstep. */
  jitter?: number;
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
  /** Never eject more than this share of a pool's servers at once. */
  maxEjectedPercent?: number;
}

export interface TimeoutOptions {
  /** Opening a connection to a server; 504 past it. */
  connectMs?: number;
  /** Server inactivity once the request is sent (no response bytes for this long); 504 past it. */
  responseMs?: number;
  /** Client inactivity while a request is proxied (a slow or stalled client); the connection is closed. */
  clientMs?: number;
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

export interface PoolOptions {
  servers: ServerOptions[];
  algorithm?: AlgorithmName | Algorithm;
  healthCheck?: HealthCheckOptions | false;
  passiveHealth?: PassiveHealthOptions | false;
  slowStartMs?: number;
  drainTimeoutMs?: number;
  sticky?: boolean | PoolStickyOptions;
  timeouts?: TimeoutOptions;
  retries?: number;
  /** Most sockets open to each server at once (the keep-alive agent's cap). */
  maxSockets?: number;
  /** Close idle keep-alive sockets after this long; keep it below the servers' own keep-alive timeout. */
  idleSocketMs?: number;
  /** Send the server's host as `Host` instead of the client's. Default false. */
  changeOrigin?: boolean;
  tls?: TlsOptions;
  /** Seconds in the `Retry-After` header of a 503. */
  retryAfterS?: number;
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

export interface BalancerOptions {
  pools: Record<string, PoolOptions>;
  /** First match wins. Without routes, a balancer with one pool sends it every request. */
  routes?: RouteOptions[];
  sticky?: StickyOptions;
  /** Keep and append to incoming X-Forwarded-* headers, and hash their client address. Default false. */
  trustProxy?: boolean;
  /** Match route paths case-sensitively. Default false, as Express does. */
  caseSensitive?: boolean;
  logger?: Logger;
}

// ---------------------------------------------------------------------------------------
// What the rest of the code reads: every field present, frozen
// ---------------------------------------------------------------------------------------

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
  check: ((server: { id: string; url: string }) => Promise<boolean> | boolean) | undefined;
}

export type PassiveHealthConfig = Required<PassiveHealthOptions>;

export interface PoolConfig {
  name: string;
  servers: ServerConfig[];
  algorithm: AlgorithmName | Algorithm;
  healthCheck: HealthCheckConfig | null;
  passiveHealth: PassiveHealthConfig | null;
  slowStartMs: number;
  drainTimeoutMs: number;
  sticky: Required<PoolStickyOptions> | null;
  timeouts: Required<TimeoutOptions>;
  retries: number;
  maxSockets: number;
  idleSocketMs: number;
  changeOrigin: boolean;
  tls: TlsOptions;
  retryAfterS: number;
}

export type ServerConfig = Required<ServerOptions>;

export interface RouteConfig {
  pool: string;
  path: string;
  host: string | RegExp | undefined;
  header: Array<[string, HeaderMatch]>;
  cookie: Array<[string, HeaderMatch]>;
  methods: string[] | undefined;
  stripPrefix: string | undefined;
}

export interface StickyConfig {
  secret: string;
  previousSecrets: string[];
  cookieName: string;
  ttlMs: number;
  store: AffinityStore | undefined;
}

export interface BalancerConfig {
  pools: PoolConfig[];
  routes: RouteConfig[];
  sticky: StickyConfig | null;
  trustProxy: boolean;
  caseSensitive: boolean;
  logger: Logger;
}

// ---------------------------------------------------------------------------------------
// Defaults, each with its reason
// ---------------------------------------------------------------------------------------

export const DEFAULTS = Object.freeze({
  /** The design's default; choose weighted-round-robin to make weights count. */
  algorithm: 'round-robin' as AlgorithmName,
  weight: 1,
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
  maxSockets: 256,
  /** Below Node's own 5 s keep-alive timeout, so we close idle sockets before the server does. */
  idleSocketMs: 4000,
  retryAfterS: 5,
  cookieName: 'sy',
  /** An hour: a working session, not a permanent pin. */
  ttlMs: 3_600_000,
});

/** Printable, at most 128 characters. Ids are data everywhere they are shown, so nothing else is excluded. */
const SERVER_ID = /^[^\x00-\x1f\x7f]{1,128}$/;

// ---------------------------------------------------------------------------------------
// normalizeOptions
// ---------------------------------------------------------------------------------------

/** Turn user options into a frozen, fully defaulted config, or throw a ConfigError naming the path. */
export function normalizeOptions(input: unknown): BalancerConfig {
  const options = plainObject(input, 'options', "{ pools: { api: { servers: [{ id: 'a', url: 'http://127.0.0.1:4001' }] } } }");
  knownKeys(options, '', ['pools', 'routes', 'sticky', 'trustProxy', 'caseSensitive', 'logger']);
  const poolsIn = plainObject(options.pools, 'pools', "{ api: { servers: [...] } }");
  const names = Object.keys(poolsIn);
  if (names.length === 0) throw new ConfigError('pools', 'expected at least one pool');
  const pools = names.map((name) => normalizePool(name, poolsIn[name]));
  const routes = normalizeRoutes(options.routes, names);
  const anySticky = pools.some((pool) => pool.sticky);
  const logger = options.logger === undefined ? consoleLogger : checkLogger(options.logger);
  return deepFreeze({
    pools,
    routes,
    sticky: anySticky || options.sticky !== undefined ? normalizeSticky(options.sticky, anySticky) : null,
    trustProxy: optionalBoolean(options.trustProxy, 'trustProxy', false),
    caseSensitive: optionalBoolean(options.caseSensitive, 'caseSensitive', false),
    logger,
  });
}

function normalizePool(name: string, input: unknown): PoolConfig {
  const path = `pools.${name}`;
  const pool = plainObject(input, path, "{ servers: [{ id: 'a', url: 'http://127.0.0.1:4001' }] }");
  knownKeys(pool, path, [
    'servers', 'algorithm', 'healthCheck', 'passiveHealth', 'slowStartMs', 'drainTimeoutMs', 'sticky',
    'timeouts', 'retries', 'maxSockets', 'idleSocketMs', 'changeOrigin', 'tls', 'retryAfterS',
  ]);
  if (!Array.isArray(pool.servers) || pool.servers.length === 0) {
    throw new ConfigError(`${path}.servers`, `expected a non-empty array of servers like [{ id: 'a', url: 'http://127.0.0.1:4001' }], got ${describe(pool.servers)}`);
  }
  const seen = new Set<string>();
  const servers = pool.servers.map((server, i) => {
    const normalized = normalizeServer(server, `${path}.servers[${i}]`);
    if (seen.has(normalized.id)) throw new ConfigError(`${path}.servers[${i}].id`, `duplicate server id "${normalized.id}" in pool "${name}"`);
    seen.add(normalized.id);
    return normalized;
  });
  const timeouts = plainObject(pool.timeouts ?? {}, `${path}.timeouts`, '{ connectMs: 5000, responseMs: 60000 }');
  knownKeys(timeouts, `${path}.timeouts`, ['connectMs', 'responseMs', 'clientMs']);
  return {
    name,
    servers,
    algorithm: normalizeAlgorithm(pool.algorithm, `${path}.algorithm`),
    healthCheck: pool.healthCheck === undefined || pool.healthCheck === false ? null : normalizeHealthCheck(pool.healthCheck, `${path}.healthCheck`),
    passiveHealth: pool.passiveHealth === false ? null : normalizePassive(pool.passiveHealth ?? {}, `${path}.passiveHealth`),
    slowStartMs: optionalNumber(pool.slowStartMs, `${path}.slowStartMs`, DEFAULTS.slowStartMs),
    drainTimeoutMs: optionalNumber(pool.drainTimeoutMs, `${path}.drainTimeoutMs`, DEFAULTS.drainTimeoutMs),
    sticky: normalizePoolSticky(pool.sticky, `${path}.sticky`),
    timeouts: {
      connectMs: optionalNumber(timeouts.connectMs, `${path}.timeouts.connectMs`, DEFAULTS.timeouts.connectMs, { min: 1 }),
      responseMs: optionalNumber(timeouts.responseMs, `${path}.timeouts.responseMs`, DEFAULTS.timeouts.responseMs, { min: 1 }),
      clientMs: optionalNumber(timeouts.clientMs, `${path}.timeouts.clientMs`, DEFAULTS.timeouts.clientMs, { min: 1 }),
    },
    retries: optionalNumber(pool.retries, `${path}.retries`, DEFAULTS.retries, { integer: true, max: 100 }),
    maxSockets: optionalNumber(pool.maxSockets, `${path}.maxSockets`, DEFAULTS.maxSockets, { integer: true, min: 1 }),
    idleSocketMs: optionalNumber(pool.idleSocketMs, `${path}.idleSocketMs`, DEFAULTS.idleSocketMs, { min: 1 }),
    changeOrigin: optionalBoolean(pool.changeOrigin, `${path}.changeOrigin`, false),
    tls: normalizeTls(pool.tls, `${path}.tls`),
    retryAfterS: optionalNumber(pool.retryAfterS, `${path}.retryAfterS`, DEFAULTS.retryAfterS, { integer: true }),
  };
}

/** Also used by `pool.addServer`, so that run-time servers pass the same checks. */
export function normalizeServer(input: unknown, path: string): ServerConfig {
  const server = plainObject(input, path, "{ id: 'api-1', url: 'http://127.0.0.1:4001', weight: 1 }");
  knownKeys(server, path, ['id', 'url', 'weight', 'backup']);
  const id = requiredString(server.id, `${path}.id`, "'api-1'");
  if (!SERVER_ID.test(id)) throw new ConfigError(`${path}.id`, `expected 1 to 128 printable characters, got ${describe(id)}`);
  return {
    id,
    url: normalizeUrl(server.url, `${path}.url`),
    weight: optionalNumber(server.weight, `${path}.weight`, DEFAULTS.weight),
    backup: optionalBoolean(server.backup, `${path}.backup`, false),
  };
}

function normalizeUrl(value: unknown, path: string): string {
  const text = requiredString(value, path, "'http://127.0.0.1:4001'");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(path, `expected an http(s) URL like 'http://127.0.0.1:4001', got ${describe(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(path, `expected an http: or https: URL, got ${describe(text)} (${url.protocol})`);
  }
  if (url.search || url.hash || url.username) {
    throw new ConfigError(path, `expected no query, fragment or credentials in a server URL, got ${describe(text)}`);
  }
  return text;
}

function normalizeAlgorithm(value: unknown, path: string): AlgorithmName | Algorithm {
  if (value === undefined) return DEFAULTS.algorithm;
  if (isAlgorithmName(value)) return value;
  if (typeof value === 'object' && value !== null && typeof (value as Plain).pick === 'function') return value as Algorithm;
  throw new ConfigError(path, `expected "round-robin", "weighted-round-robin", "least-connections", "ip-hash" or an object with pick(servers, context), got ${describe(value)}`);
}

function normalizeHealthCheck(input: unknown, path: string): HealthCheckConfig {
  const check = plainObject(input, path, "{ type: 'http', path: '/health' }");
  const type = oneOf(check.type, `${path}.type`, ['tcp', 'http', 'custom'] as const, 'http');
  const timing = ['type', 'intervalMs', 'timeoutMs', 'unhealthyThreshold', 'healthyThreshold', 'jitter'];
  const own = type === 'http' ? ['path', 'method', 'host', 'expectStatus', 'expectBody'] : type === 'custom' ? ['check'] : [];
  knownKeys(check, path, [...timing, ...own]);
  const d = DEFAULTS.healthCheck;
  const intervalMs = optionalNumber(check.intervalMs, `${path}.intervalMs`, d.intervalMs, { min: 10 });
  const timeoutMs = optionalNumber(check.timeoutMs, `${path}.timeoutMs`, Math.min(d.timeoutMs, Math.floor(intervalMs / 2)), { min: 1 });
  if (timeoutMs >= intervalMs) {
    throw new ConfigError(`${path}.timeoutMs`, `expected a timeout below intervalMs (${intervalMs}), got ${timeoutMs}: probes would overlap`);
  }
  if (type === 'custom' && typeof check.check !== 'function') {
    throw new ConfigError(`${path}.check`, 'expected an async function (server) => boolean for a custom check');
  }
  const statusText = check.expectStatus === undefined ? d.expectStatus : check.expectStatus;
  const httpPath = check.path === undefined ? d.path : requiredString(check.path, `${path}.path`, "'/health'");
  if (!httpPath.startsWith('/')) throw new ConfigError(`${path}.path`, `expected a path starting with "/", got ${describe(httpPath)}`);
  return {
    type,
    intervalMs,
    timeoutMs,
    unhealthyThreshold: optionalNumber(check.unhealthyThreshold, `${path}.unhealthyThreshold`, d.unhealthyThreshold, { integer: true, min: 1 }),
    healthyThreshold: optionalNumber(check.healthyThreshold, `${path}.healthyThreshold`, d.healthyThreshold, { integer: true, min: 1 }),
    jitter: optionalNumber(check.jitter, `${path}.jitter`, d.jitter, { max: 0.5 }),
    path: httpPath,
    method: check.method === undefined ? d.method : requiredString(check.method, `${path}.method`, "'GET'").toUpperCase(),
    host: check.host === undefined ? undefined : requiredString(check.host, `${path}.host`, "'api.internal'"),
    expectStatus: statusMatcher(statusText, `${path}.expectStatus`),
    expectStatusText: Array.isArray(statusText) ? statusText.join(',') : String(statusText),
    expectBody: check.expectBody === undefined ? undefined : requiredString(check.expectBody, `${path}.expectBody`, "'ok'"),
    check: type === 'custom' ? (check.check as HealthCheckConfig['check']) : undefined,
  };
}

function statusMatcher(value: unknown, path: string): (status: number) => boolean {
  if (Array.isArray(value) && value.length > 0 && value.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
    const allowed = new Set(value as number[]);
    return (status) => allowed.has(status);
  }
  const range = typeof value === 'string' ? /^(\d{3})-(\d{3})$/.exec(value) : null;
  if (range && Number(range[1]) <= Number(range[2])) {
    const low = Number(range[1]);
    const high = Number(range[2]);
    return (status) => status >= low && status <= high;
  }
  throw new ConfigError(path, `expected a list of statuses like [200, 204] or a range like '200-399', got ${describe(value)}`);
}

function normalizePassive(input: unknown, path: string): PassiveHealthConfig {
  const passive = plainObject(input, path, '{ consecutiveFailures: 5 }');
  knownKeys(passive, path, Object.keys(DEFAULTS.passiveHealth));
  const d = DEFAULTS.passiveHealth;
  const baseEjectionMs = optionalNumber(passive.baseEjectionMs, `${path}.baseEjectionMs`, d.baseEjectionMs, { min: 1 });
  const maxEjectionMs = optionalNumber(passive.maxEjectionMs, `${path}.maxEjectionMs`, Math.max(d.maxEjectionMs, baseEjectionMs), { min: 1 });
  if (maxEjectionMs < baseEjectionMs) throw new ConfigError(`${path}.maxEjectionMs`, `expected at least baseEjectionMs (${baseEjectionMs}), got ${maxEjectionMs}`);
  return {
    consecutiveFailures: optionalNumber(passive.consecutiveFailures, `${path}.consecutiveFailures`, d.consecutiveFailures, { integer: true, min: 1 }),
    include5xx: optionalBoolean(passive.include5xx, `${path}.include5xx`, d.include5xx),
    baseEjectionMs,
    maxEjectionMs,
    maxEjectedPercent: optionalNumber(passive.maxEjectedPercent, `${path}.maxEjectedPercent`, d.maxEjectedPercent, { max: 100 }),
  };
}

function normalizePoolSticky(value: unknown, path: string): Required<PoolStickyOptions> | null {
  if (value === undefined || value === false) return null;
  if (value === true) return { forwardCookie: false };
  const sticky = plainObject(value, path, '{ forwardCookie: false }');
  knownKeys(sticky, path, ['forwardCookie']);
  return { forwardCookie: optionalBoolean(sticky.forwardCookie, `${path}.forwardCookie`, false) };
}

function normalizeSticky(input: unknown, required: boolean): StickyConfig {
  const sticky = plainObject(input ?? {}, 'sticky', "{ secret: process.env.AFFINITY_SECRET }");
  knownKeys(sticky, 'sticky', ['secret', 'previousSecrets', 'cookieName', 'ttlMs', 'store']);
  if (required && sticky.secret === undefined) {
    throw new ConfigError('sticky.secret', 'expected a secret of at least 16 characters: a pool is sticky, and its cookies must be signed');
  }
  const secret = requiredString(sticky.secret, 'sticky.secret', 'process.env.AFFINITY_SECRET');
  if (secret.length < 16) throw new ConfigError('sticky.secret', `expected at least 16 characters, got ${secret.length}`);
  const previous = sticky.previousSecrets ?? [];
  if (!Array.isArray(previous)) throw new ConfigError('sticky.previousSecrets', `expected an array of strings, got ${describe(previous)}`);
  const cookieName = sticky.cookieName === undefined ? DEFAULTS.cookieName : requiredString(sticky.cookieName, 'sticky.cookieName', "'sy'");
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) throw new ConfigError('sticky.cookieName', `expected a cookie name token, got ${describe(cookieName)}`);
  const store = sticky.store;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof (store as Plain).get !== 'function' || typeof (store as Plain).set !== 'function')) {
    throw new ConfigError('sticky.store', 'expected an AffinityStore such as new MemoryAffinityStore() or new RedisAffinityStore(redis)');
  }
  return {
    secret,
    previousSecrets: previous.map((old, i) => requiredString(old, `sticky.previousSecrets[${i}]`, "'the-old-secret'")),
    cookieName,
    ttlMs: optionalNumber(sticky.ttlMs, 'sticky.ttlMs', DEFAULTS.ttlMs, { min: 1000 }),
    store: store as AffinityStore | undefined,
  };
}

function normalizeTls(value: unknown, path: string): TlsOptions {
  if (value === undefined) return { rejectUnauthorized: true };
  const tls = plainObject(value, path, '{ ca: fs.readFileSync("ca.pem") }');
  knownKeys(tls, path, ['ca', 'rejectUnauthorized']);
  const result: TlsOptions = { rejectUnauthorized: optionalBoolean(tls.rejectUnauthorized, `${path}.rejectUnauthorized`, true) };
  if (tls.ca !== undefined) result.ca = tls.ca as NonNullable<TlsOptions['ca']>;
  return result;
}

function normalizeRoutes(input: unknown, pools: string[]): RouteConfig[] {
  if (input === undefined) {
    if (pools.length === 1) return [{ pool: pools[0]!, path: '/', host: undefined, header: [], cookie: [], methods: undefined, stripPrefix: undefined }];
    throw new ConfigError('routes', `expected routes to choose among ${pools.length} pools, like [{ path: '/api', pool: '${pools[0]}' }]`);
  }
  if (!Array.isArray(input)) throw new ConfigError('routes', `expected an array of routes, got ${describe(input)}`);
  return input.map((route, i) => normalizeRoute(route, `routes[${i}]`, pools));
}

function normalizeRoute(input: unknown, path: string, pools: string[]): RouteConfig {
  const route = plainObject(input, path, "{ path: '/api', pool: 'api' }");
  knownKeys(route, path, ['pool', 'path', 'host', 'header', 'cookie', 'method', 'stripPrefix']);
  const pool = requiredString(route.pool, `${path}.pool`, `'${pools[0]}'`);
  if (!pools.includes(pool)) throw new ConfigError(`${path}.pool`, `unknown pool "${pool}"; pools are ${pools.map((p) => `"${p}"`).join(', ')}`);
  return {
    pool,
    path: route.path === undefined ? '/' : routePath(route.path, `${path}.path`),
    host: route.host === undefined ? undefined : hostMatch(route.host, `${path}.host`),
    header: matchPairs(route.header, `${path}.header`, (name) => name.toLowerCase()),
    cookie: matchPairs(route.cookie, `${path}.cookie`, (name) => name),
    methods: route.method === undefined ? undefined : methods(route.method, `${path}.method`),
    stripPrefix: route.stripPrefix === undefined ? undefined : routePath(route.stripPrefix, `${path}.stripPrefix`),
  };
}

function routePath(value: unknown, path: string): string {
  const text = requiredString(value, path, "'/api'");
  if (!text.startsWith('/')) throw new ConfigError(path, `expected a path starting with "/", got ${describe(text)}`);
  return text.length > 1 ? text.replace(/\/+$/, '') : text;
}

function hostMatch(value: unknown, path: string): string | RegExp {
  if (value instanceof RegExp) return value;
  return requiredString(value, path, "'static.example.com' or '*.example.com'").toLowerCase();
}

function matchPairs(value: unknown, path: string, key: (name: string) => string): Array<[string, HeaderMatch]> {
  if (value === undefined) return [];
  const object = plainObject(value, path, "{ 'x-canary': 'yes' }");
  return Object.entries(object).map(([name, match]) => {
    if (typeof match !== 'string' && !(match instanceof RegExp)) {
      throw new ConfigError(`${path}.${name}`, `expected a string or a RegExp, got ${describe(match)}`);
    }
    return [key(name), match];
  });
}

function methods(value: unknown, path: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new ConfigError(path, "expected a method like 'GET' or a list of them");
  return list.map((method, i) => requiredString(method, Array.isArray(value) ? `${path}[${i}]` : path, "'GET'").toUpperCase());
}

function checkLogger(value: unknown): Logger {
  const logger = plainObject(value, 'logger', 'console');
  if (typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    throw new ConfigError('logger', 'expected an object with warn(message) and error(message), like console');
  }
  return logger as unknown as Logger;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !(value instanceof RegExp) && !Buffer.isBuffer(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) {
      // user-owned objects with behaviour (stores, loggers, algorithms) keep their own mutability
      const ownsBehaviour = typeof inner === 'object' && inner !== null && Object.values(inner).some((v) => typeof v === 'function');
      if (!ownsBehaviour && (Array.isArray(inner) || (typeof inner === 'object' && inner !== null && Object.getPrototypeOf(inner) === Object.prototype))) deepFreeze(inner);
    }
  }
  return value;
}
