import type { Algorithm, AlgorithmName } from '../algorithms/algorithm.js';
import { isAlgorithmName } from '../algorithms/index.js';
import type { IncomingMessage } from 'node:http';
import { readCookie } from '../affinity/cookie-header.js';
import { ConfigError } from '../errors.js';
import { describe, knownKeys, oneOf, optionalBoolean, optionalNumber, plainObject, requiredString, type Plain } from '../validate.js';
import type { HealthCheckConfig, PassiveHealthConfig, PoolConfig, RetryConfig, ServerConfig } from './config.js';
import { DEFAULTS } from './defaults.js';
import { normalizeSendExpect, normalizeTcpOptions, normalizeTcpUrl, protocolOf, TCP_DEFAULTS } from '../tcp/options.js';
import type { PoolStickyOptions, TimeoutOptions, TlsOptions } from './types.js';

/** Printable, at most 128 characters. Ids are data everywhere they are shown, so nothing else is excluded. */
const SERVER_ID = /^[^\x00-\x1f\x7f]{1,128}$/;
const LABEL = /^[^\x00-\x1f\x7f]{1,128}$/;

const POOL_KEYS = [
  'servers', 'algorithm', 'hash', 'healthCheck', 'passiveHealth', 'slowStartMs', 'drainTimeoutMs', 'sticky',
  'timeouts', 'retries', 'retry', 'panicThreshold', 'maxConnections', 'queue', 'maxSockets', 'idleSocketMs', 'changeOrigin', 'tls', 'retryAfterS', 'rewriteOrigin',
  'protocol', 'proxyProtocol',
];

export function normalizePool(name: string, input: unknown): PoolConfig {
  const path = `pools.${name}`;
  const pool = plainObject(input, path, "{ servers: [{ id: 'a', url: 'http://127.0.0.1:4001' }] }");
  knownKeys(pool, path, POOL_KEYS);
  const protocol = protocolOf(pool, path);
  const tcp = normalizeTcpOptions(pool, path, protocol);
  if (!Array.isArray(pool.servers) || pool.servers.length === 0) {
    throw new ConfigError(`${path}.servers`, `expected a non-empty array of servers like [{ id: 'a', url: 'http://127.0.0.1:4001' }], got ${describe(pool.servers)}`);
  }
  const seen = new Set<string>();
  const servers = pool.servers.map((server, i) => {
    const normalized = normalizeServer(server, `${path}.servers[${i}]`, protocol);
    if (seen.has(normalized.id)) throw new ConfigError(`${path}.servers[${i}].id`, `duplicate server id "${normalized.id}" in pool "${name}"`);
    seen.add(normalized.id);
    return normalized;
  });
  const timeouts = tcp ? { ...DEFAULTS.timeouts, connectMs: tcp.connectMs } : normalizeTimeouts(pool.timeouts, `${path}.timeouts`, DEFAULTS.timeouts);
  const connectMs = timeouts.connectMs;
  const retries = tcp ? tcp.tries : optionalNumber(pool.retries, `${path}.retries`, DEFAULTS.retries, { integer: true, max: 100 });
  const retry = normalizeRetry(pool.retry, `${path}.retry`, defaultRetry(retries, timeouts.responseMs));
  // a TCP server takes connections without bound unless told (NGINX's max_conns=0)
  const { maxConnections, maxSockets } = tcp
    ? { maxConnections: optionalNumber(pool.maxConnections, `${path}.maxConnections`, Number.MAX_SAFE_INTEGER, { integer: true, min: 1 }), maxSockets: DEFAULTS.maxSockets }
    : connectionCaps(pool, path);
  return {
    name,
    protocol,
    tcp,
    initialServers: servers,
    algorithm: pool.algorithm === undefined && tcp ? TCP_DEFAULTS.algorithm : normalizeAlgorithm(pool.algorithm, `${path}.algorithm`),
    hash: normalizeHash(pool.hash, `${path}.hash`),
    healthCheck: pool.healthCheck === undefined || pool.healthCheck === false ? null : normalizeHealthCheck(pool.healthCheck, `${path}.healthCheck`, protocol),
    passiveHealth: pool.passiveHealth === false ? null : normalizePassive(pool.passiveHealth ?? {}, `${path}.passiveHealth`),
    slowStartMs: optionalNumber(pool.slowStartMs, `${path}.slowStartMs`, DEFAULTS.slowStartMs),
    drainTimeoutMs: optionalNumber(pool.drainTimeoutMs, `${path}.drainTimeoutMs`, DEFAULTS.drainTimeoutMs),
    sticky: normalizePoolSticky(pool.sticky, `${path}.sticky`),
    timeouts,
    retry,
    policy: { timeouts, retry },
    panicThreshold: optionalNumber(pool.panicThreshold, `${path}.panicThreshold`, DEFAULTS.panicThreshold, { max: 100 }),
    maxConnections,
    queue: normalizeQueue(pool.queue, `${path}.queue`, connectMs),
    maxSockets,
    idleSocketMs: optionalNumber(pool.idleSocketMs, `${path}.idleSocketMs`, DEFAULTS.idleSocketMs, { min: 1 }),
    changeOrigin: optionalBoolean(pool.changeOrigin, `${path}.changeOrigin`, false),
    tls: normalizeTls(pool.tls, `${path}.tls`),
    retryAfterS: optionalNumber(pool.retryAfterS, `${path}.retryAfterS`, DEFAULTS.retryAfterS, { integer: true }),
    rewriteOrigin: optionalBoolean(pool.rewriteOrigin, `${path}.rewriteOrigin`, true),
  };
}

/**
 * Requests beyond `maxConnections` wait in our queue, where waiting is never blamed on a server;
 * the agent must never hold one back itself, so it gets at least as many sockets.
 */
function connectionCaps(pool: Plain, path: string): { maxConnections: number; maxSockets: number } {
  const givenSockets = pool.maxSockets === undefined ? undefined : optionalNumber(pool.maxSockets, `${path}.maxSockets`, DEFAULTS.maxSockets, { integer: true, min: 1 });
  const maxConnections = optionalNumber(pool.maxConnections, `${path}.maxConnections`, givenSockets ?? DEFAULTS.maxSockets, { integer: true, min: 1 });
  if (givenSockets !== undefined && givenSockets < maxConnections) {
    throw new ConfigError(`${path}.maxSockets`, `expected at least maxConnections (${maxConnections}), got ${givenSockets}: requests past the socket cap would wait where a wait is blamed on the server`);
  }
  return { maxConnections, maxSockets: givenSockets ?? Math.max(DEFAULTS.maxSockets, maxConnections) };
}

/** Timeouts, each defaulting to `base` (the defaults for a pool, the pool's own for a route). */
export function normalizeTimeouts(value: unknown, path: string, base: Readonly<Required<TimeoutOptions>>): Required<TimeoutOptions> {
  const timeouts = plainObject(value ?? {}, path, '{ connectMs: 5000, responseMs: 60000 }');
  knownKeys(timeouts, path, ['connectMs', 'responseMs', 'clientMs']);
  return {
    connectMs: optionalNumber(timeouts.connectMs, `${path}.connectMs`, base.connectMs, { min: 1 }),
    responseMs: optionalNumber(timeouts.responseMs, `${path}.responseMs`, base.responseMs, { min: 1 }),
    clientMs: optionalNumber(timeouts.clientMs, `${path}.clientMs`, base.clientMs, { min: 1 }),
  };
}

function defaultRetry(tries: number, responseMs: number): RetryConfig {
  return { connectFailure: true, reset: true, timeout: false, statuses: new Set(), tries, perTryTimeoutMs: responseMs, backoffMs: 0, budgetPercent: DEFAULTS.retryBudgetPercent, idempotencyKey: false };
}

/** A retry policy, each field defaulting to `base` (the pool's, for a route). */
export function normalizeRetry(value: unknown, path: string, base: RetryConfig): RetryConfig {
  if (value === undefined) return base;
  const retry = plainObject(value, path, "{ on: ['connect-failure', 'reset', 503], tries: 2 }");
  knownKeys(retry, path, ['on', 'tries', 'perTryTimeoutMs', 'backoffMs', 'budgetPercent', 'idempotencyKey']);
  let on = { connectFailure: base.connectFailure, reset: base.reset, timeout: base.timeout, statuses: base.statuses };
  if (retry.on !== undefined) {
    if (!Array.isArray(retry.on)) throw new ConfigError(`${path}.on`, `expected a list like ['connect-failure', 'reset', 'timeout', 503], got ${describe(retry.on)}`);
    const statuses = new Set<number>();
    retry.on.forEach((item: unknown, i) => {
      if (typeof item === 'number' && Number.isInteger(item) && item >= 400 && item <= 599) statuses.add(item);
      else if (item !== 'connect-failure' && item !== 'reset' && item !== 'timeout') throw new ConfigError(`${path}.on[${i}]`, `expected 'connect-failure', 'reset', 'timeout' or a status from 400 to 599, got ${describe(item)}`);
    });
    on = { connectFailure: retry.on.includes('connect-failure'), reset: retry.on.includes('reset'), timeout: retry.on.includes('timeout'), statuses };
  }
  return {
    ...on,
    tries: optionalNumber(retry.tries, `${path}.tries`, base.tries, { integer: true, max: 100 }),
    perTryTimeoutMs: optionalNumber(retry.perTryTimeoutMs, `${path}.perTryTimeoutMs`, base.perTryTimeoutMs, { min: 1 }),
    backoffMs: optionalNumber(retry.backoffMs, `${path}.backoffMs`, base.backoffMs),
    budgetPercent: optionalNumber(retry.budgetPercent, `${path}.budgetPercent`, base.budgetPercent, { max: 100 }),
    idempotencyKey: optionalBoolean(retry.idempotencyKey, `${path}.idempotencyKey`, base.idempotencyKey),
  };
}

function normalizeQueue(value: unknown, path: string, connectMs: number): PoolConfig['queue'] {
  const queue = plainObject(value ?? {}, path, '{ size: 1024, timeoutMs: 5000 }');
  knownKeys(queue, path, ['size', 'timeoutMs']);
  return {
    size: optionalNumber(queue.size, `${path}.size`, DEFAULTS.queue.size, { integer: true }),
    timeoutMs: optionalNumber(queue.timeoutMs, `${path}.timeoutMs`, connectMs, { min: 1 }),
  };
}

/** Also used by `pool.addServer`, so that run-time servers pass the same checks. */
export function normalizeServer(input: unknown, path: string, protocol: 'http' | 'tcp' = 'http'): ServerConfig {
  const server = plainObject(input, path, "{ id: 'api-1', url: 'http://127.0.0.1:4001', weight: 1 }");
  knownKeys(server, path, ['id', 'url', 'weight', 'backup', 'labels']);
  const id = requiredString(server.id, `${path}.id`, "'api-1'");
  if (!SERVER_ID.test(id)) throw new ConfigError(`${path}.id`, `expected 1 to 128 printable characters, got ${describe(id)}`);
  return {
    id,
    url: protocol === 'tcp' ? normalizeTcpUrl(server.url, `${path}.url`) : normalizeUrl(server.url, `${path}.url`),
    weight: normalizeWeight(server.weight, `${path}.weight`),
    backup: optionalBoolean(server.backup, `${path}.backup`, false),
    labels: normalizeLabels(server.labels, `${path}.labels`),
  };
}

export function normalizeWeight(value: unknown, path: string): number {
  return optionalNumber(value, path, DEFAULTS.weight, { max: DEFAULTS.maxWeight });
}

export function normalizeLabels(value: unknown, path: string): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  const labels = plainObject(value, path, "{ version: 'v2' }");
  const result: Record<string, string> = {};
  for (const [key, label] of Object.entries(labels)) {
    if (!LABEL.test(key)) throw new ConfigError(`${path}`, `expected label names of 1 to 128 printable characters, got ${describe(key)}`);
    if (typeof label !== 'string' || !LABEL.test(label)) throw new ConfigError(`${path}.${key}`, `expected a string of 1 to 128 printable characters, got ${describe(label)}`);
    result[key] = label;
  }
  return result;
}

function normalizeUrl(value: unknown, path: string): string {
  const text = requiredString(value, path, "'http://127.0.0.1:4001'");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(path, `expected an http(s) URL like 'http://127.0.0.1:4001', got ${describe(text)}`);
  }
  if (url.protocol === 'tcp:' || url.protocol === 'tls:') {
    throw new ConfigError(path, `expected an http: or https: URL, got ${describe(text)}: a tcp:// server belongs in a pool with protocol: 'tcp'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(path, `expected an http: or https: URL, got ${describe(text)} (${url.protocol})`);
  }
  if (url.search || url.hash || url.username) {
    throw new ConfigError(path, `expected no query, fragment or credentials in a server URL, got ${describe(text)}`);
  }
  return text;
}

function normalizeHash(value: unknown, path: string): PoolConfig['hash'] {
  const hash = plainObject(value ?? {}, path, "{ key: 'header:x-user-id', balanceFactor: 1.25 }");
  knownKeys(hash, path, ['key', 'balanceFactor']);
  const balanceFactor = optionalNumber(hash.balanceFactor, `${path}.balanceFactor`, 1.25, { min: 1 });
  return { key: hashKeyOf(hash.key, `${path}.key`), balanceFactor };
}

/** The key as a function of the request; undefined for the client address (the algorithm's own fallback). */
function hashKeyOf(key: unknown, path: string): PoolConfig['hash']['key'] {
  if (key === undefined || key === 'ip') return undefined;
  if (typeof key === 'function') return key as (req: IncomingMessage) => string | undefined;
  const match = typeof key === 'string' ? /^(header|cookie):(.+)$/.exec(key) : null;
  if (!match) throw new ConfigError(path, `expected 'ip', 'header:<name>', 'cookie:<name>' or a function (req) => string, got ${describe(key)}`);
  const name = match[2]!;
  if (match[1] === 'header') {
    const header = name.toLowerCase();
    return (req) => {
      const value = req.headers[header];
      return Array.isArray(value) ? value[0] : value;
    };
  }
  return (req) => readCookie(req.headers.cookie, name);
}

function normalizeAlgorithm(value: unknown, path: string): AlgorithmName | Algorithm {
  if (value === undefined) return DEFAULTS.algorithm;
  if (isAlgorithmName(value)) return value;
  if (typeof value === 'object' && value !== null && typeof (value as Plain).pick === 'function') return value as Algorithm;
  throw new ConfigError(path, `expected "round-robin", "weighted-round-robin", "least-connections", "p2c", "consistent-hash", "ip-hash" or an object with pick(servers, context), got ${describe(value)}`);
}

function normalizeHealthCheck(input: unknown, path: string, protocol: 'http' | 'tcp'): HealthCheckConfig {
  const check = plainObject(input, path, "{ type: 'http', path: '/health' }");
  const type = oneOf(check.type, `${path}.type`, ['tcp', 'http', 'custom'] as const, protocol === 'tcp' ? 'tcp' : 'http');
  if (protocol === 'tcp' && type === 'http') throw new ConfigError(`${path}.type`, "expected 'tcp' (with send/expect) or 'custom' in a TCP pool: its servers do not speak HTTP here");
  const timing = ['type', 'intervalMs', 'timeoutMs', 'unhealthyThreshold', 'healthyThreshold', 'jitter'];
  const own = type === 'http' ? ['path', 'method', 'host', 'expectStatus', 'expectBody'] : type === 'custom' ? ['check'] : ['send', 'expect'];
  knownKeys(check, path, [...timing, ...own]);
  const d = DEFAULTS.healthCheck;
  const intervalMs = optionalNumber(check.intervalMs, `${path}.intervalMs`, d.intervalMs, { min: 10 });
  const timeoutMs = optionalNumber(check.timeoutMs, `${path}.timeoutMs`, Math.min(d.timeoutMs, Math.floor(intervalMs / 2)), { min: 1 });
  if (timeoutMs >= intervalMs) {
    throw new ConfigError(`${path}.timeoutMs`, `expected a timeout below intervalMs (${intervalMs}), got ${timeoutMs}: probes would overlap`);
  }
  if (type === 'custom' && typeof check.check !== 'function') {
    throw new ConfigError(`${path}.check`, 'expected an async function (server, { signal }) => boolean for a custom check');
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
    ...(type === 'tcp' ? normalizeSendExpect(check, path) : { send: undefined, expect: undefined }),
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
  knownKeys(passive, path, [...Object.keys(DEFAULTS.passiveHealth), 'errorRate']);
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
    errorRate: passive.errorRate === undefined ? null : normalizeErrorRate(passive.errorRate, `${path}.errorRate`),
  };
}

function normalizeErrorRate(value: unknown, path: string): PassiveHealthConfig['errorRate'] {
  const rate = plainObject(value, path, '{ threshold: 0.3, minRequests: 20, windowMs: 10000 }');
  knownKeys(rate, path, ['threshold', 'minRequests', 'windowMs']);
  if (rate.threshold === undefined) throw new ConfigError(`${path}.threshold`, 'expected a share of failed requests from 0 to 1, like 0.3');
  return {
    threshold: optionalNumber(rate.threshold, `${path}.threshold`, 0.3, { max: 1 }),
    minRequests: optionalNumber(rate.minRequests, `${path}.minRequests`, 20, { integer: true, min: 1 }),
    windowMs: optionalNumber(rate.windowMs, `${path}.windowMs`, 10_000, { min: 100 }),
  };
}

function normalizePoolSticky(value: unknown, path: string): Required<PoolStickyOptions> | null {
  if (value === undefined || value === false) return null;
  if (value === true) return { forwardCookie: false };
  const sticky = plainObject(value, path, '{ forwardCookie: false }');
  knownKeys(sticky, path, ['forwardCookie']);
  return { forwardCookie: optionalBoolean(sticky.forwardCookie, `${path}.forwardCookie`, false) };
}

function normalizeTls(value: unknown, path: string): TlsOptions {
  if (value === undefined) return { rejectUnauthorized: true };
  const tls = plainObject(value, path, '{ ca: fs.readFileSync("ca.pem") }');
  knownKeys(tls, path, ['ca', 'rejectUnauthorized']);
  const result: TlsOptions = { rejectUnauthorized: optionalBoolean(tls.rejectUnauthorized, `${path}.rejectUnauthorized`, true) };
  if (tls.ca !== undefined) result.ca = tls.ca as NonNullable<TlsOptions['ca']>;
  return result;
}
