import { hostname } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { compileTrust, type Trust, type TrustProxy } from '../forwarding/trust.js';
import { ConfigError } from '../errors.js';
import { consoleLogger, safeLogger, type Logger } from '../logger.js';
import { describe, knownKeys, oneOf, optionalBoolean, optionalNumber, plainObject, requiredString, type Plain } from '../validate.js';
import type { BalancerConfig, ControlConfig, StickyConfig } from './config.js';
import { DEFAULTS } from './defaults.js';
import { normalizePool } from './pool.js';
import { normalizeHooks, normalizeRoutes } from './routes.js';
import type { AffinityStore } from '../affinity/store.js';
import type { ControlStore } from '../control/store.js';

/** Turn user options into a frozen, fully defaulted config, or throw a ConfigError naming the path. */
export function normalizeOptions(input: unknown): BalancerConfig {
  const options = plainObject(input, 'options', "{ pools: { api: { servers: [{ id: 'a', url: 'http://127.0.0.1:4001' }] } } }");
  knownKeys(options, '', ['pools', 'routes', 'sticky', 'trustProxy', 'caseSensitive', 'maxBufferedBytes', 'control', 'hooks', 'requestId', 'logger', 'logStyle']);
  const poolsIn = plainObject(options.pools, 'pools', "{ api: { servers: [...] } }");
  const names = Object.keys(poolsIn);
  if (names.length === 0) throw new ConfigError('pools', 'expected at least one pool');
  const pools = names.map((name) => normalizePool(name, poolsIn[name]));
  const hooks = options.hooks === undefined ? [] : [normalizeHooks(options.hooks, 'hooks')];
  const routes = normalizeRoutes(options.routes, pools, hooks);
  const anySticky = pools.some((pool) => pool.sticky);
  const logger = options.logger === undefined ? consoleLogger : checkLogger(options.logger);
  const logStyle = options.logStyle === undefined ? undefined : oneOf(options.logStyle, 'logStyle', ['message-first', 'object-first'] as const, 'message-first');
  return deepFreeze({
    pools,
    routes,
    sticky: anySticky || options.sticky !== undefined ? normalizeSticky(options.sticky, anySticky) : null,
    trustProxy: options.trustProxy === undefined ? null : normalizeTrust(options.trustProxy),
    requestId: normalizeRequestId(options.requestId),
    caseSensitive: optionalBoolean(options.caseSensitive, 'caseSensitive', false),
    maxBufferedBytes: optionalNumber(options.maxBufferedBytes, 'maxBufferedBytes', DEFAULTS.maxBufferedBytes, { integer: true }),
    control: normalizeControl(options.control),
    logger: safeLogger(logger, logStyle),
  });
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
  if (store !== undefined && !hasMethods(store, ['get', 'set'])) {
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

function normalizeControl(input: unknown): ControlConfig {
  const control = plainObject(input ?? {}, 'control', '{ store: new RedisControlStore(redis) }');
  knownKeys(control, 'control', ['store', 'instanceId', 'seed']);
  if (control.store !== undefined && !hasMethods(control.store, ['open', 'commit', 'close'])) {
    throw new ConfigError('control.store', 'expected a ControlStore such as new RedisControlStore(redis)');
  }
  const instanceId = control.instanceId === undefined ? defaultInstanceId() : requiredString(control.instanceId, 'control.instanceId', "'web-1'");
  if (!/^[^\x00-\x20\x7f]{1,128}$/.test(instanceId)) throw new ConfigError('control.instanceId', `expected 1 to 128 printable characters without spaces, got ${describe(instanceId)}`);
  return {
    store: control.store as ControlStore | undefined,
    instanceId,
    seed: oneOf(control.seed, 'control.seed', ['if-empty', 'replace'] as const, 'if-empty'),
  };
}

function normalizeTrust(value: unknown): Trust {
  const valid = typeof value === 'boolean' || typeof value === 'function' || (typeof value === 'number' && Number.isInteger(value) && value >= 0)
    || typeof value === 'string' || (Array.isArray(value) && value.every((entry) => typeof entry === 'string'));
  if (!valid) throw new ConfigError('trustProxy', `expected what Express's "trust proxy" takes: true, false, a hop count, addresses or subnets like 'loopback, 10.0.0.0/8', or a function (address, hop) => boolean; got ${describe(value)}`);
  try {
    return compileTrust(value as TrustProxy);
  } catch (error) {
    throw new ConfigError('trustProxy', `expected addresses or subnets like 'loopback, 10.0.0.0/8': ${(error as Error).message}`);
  }
}

function normalizeRequestId(value: unknown): BalancerConfig['requestId'] {
  if (value === false) return null;
  const options = plainObject(value ?? {}, 'requestId', "{ header: 'x-request-id' }");
  knownKeys(options, 'requestId', ['header', 'generate']);
  const header = options.header === undefined ? 'x-request-id' : requiredString(options.header, 'requestId.header', "'x-request-id'").toLowerCase();
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(header)) throw new ConfigError('requestId.header', `expected a header name, got ${describe(header)}`);
  if (options.generate !== undefined && typeof options.generate !== 'function') throw new ConfigError('requestId.generate', `expected a function returning a string, got ${describe(options.generate)}`);
  return { header, generate: (options.generate as (() => string) | undefined) ?? randomUUID };
}

/** Host, process and a random suffix: unique across restarts, readable in the fleet view. */
function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function hasMethods(value: unknown, names: string[]): boolean {
  return typeof value === 'object' && value !== null && names.every((name) => typeof (value as Plain)[name] === 'function');
}

function checkLogger(value: unknown): Logger {
  if (!hasMethods(value, ['warn', 'error'])) {
    throw new ConfigError('logger', 'expected an object with warn() and error(), like console or a pino logger');
  }
  return value as Logger;
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
