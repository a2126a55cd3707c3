import { ConfigError } from '../errors.js';
import { describe, knownKeys, plainObject, requiredString } from '../validate.js';
import type { IncomingMessage } from 'node:http';
import type { Hooks } from '../hooks.js';
import type { PoolConfig, RouteConfig, RouteHooks } from './config.js';
import { normalizeRetry, normalizeTimeouts } from './pool.js';
import type { HeaderMatch } from './types.js';

export function normalizeRoutes(input: unknown, pools: readonly PoolConfig[], hooks: readonly Hooks[]): RouteConfig[] {
  // TCP pools are served by balancer.tcp(), never by a route
  const http = pools.filter((pool) => pool.protocol !== 'tcp');
  const names = http.map((pool) => pool.name);
  if (input === undefined) {
    if (http.length === 0) return [];
    if (http.length === 1) return [{ pool: names[0]!, path: '/', host: undefined, header: [], cookie: [], methods: undefined, stripPrefix: undefined, rewrite: undefined, hooks: groupHooks(hooks), index: 0, policy: http[0]!.policy }];
    throw new ConfigError('routes', `expected routes to choose among ${http.length} pools, like [{ path: '/api', pool: '${names[0]}' }]`);
  }
  if (!Array.isArray(input)) throw new ConfigError('routes', `expected an array of routes, got ${describe(input)}`);
  return input.map((route, i) => normalizeRoute(route, `routes[${i}]`, pools, hooks, i));
}

function normalizeRoute(input: unknown, path: string, poolConfigs: readonly PoolConfig[], hooks: readonly Hooks[], index: number): RouteConfig {
  const pools = poolConfigs.map((config) => config.name);
  const route = plainObject(input, path, "{ path: '/api', pool: 'api' }");
  knownKeys(route, path, ['pool', 'path', 'host', 'header', 'cookie', 'method', 'stripPrefix', 'rewrite', 'hooks', 'timeouts', 'retry']);
  const pool = requiredString(route.pool, `${path}.pool`, `'${pools[0]}'`);
  if (poolConfigs.some((config) => config.name === pool && config.protocol === 'tcp')) {
    throw new ConfigError(`${path}.pool`, `pool "${pool}" is a TCP pool (protocol: 'tcp'): serve it with balancer.tcp('${pool}') or balancer.listenTcp(port, '${pool}'), not a route`);
  }
  if (!pools.includes(pool)) throw new ConfigError(`${path}.pool`, `unknown pool "${pool}"; pools are ${pools.map((p) => `"${p}"`).join(', ')}`);
  const poolPolicy = poolConfigs.find((config) => config.name === pool)!.policy;
  const overridden = route.timeouts !== undefined || route.retry !== undefined;
  return {
    pool,
    path: route.path === undefined ? '/' : routePath(route.path, `${path}.path`),
    host: route.host === undefined ? undefined : hostMatch(route.host, `${path}.host`),
    header: matchPairs(route.header, `${path}.header`, (name) => name.toLowerCase()),
    cookie: matchPairs(route.cookie, `${path}.cookie`, (name) => name),
    methods: route.method === undefined ? undefined : methods(route.method, `${path}.method`),
    stripPrefix: route.stripPrefix === undefined ? undefined : routePath(route.stripPrefix, `${path}.stripPrefix`),
    rewrite: route.rewrite === undefined ? undefined : normalizeRewrite(route.rewrite, `${path}.rewrite`),
    hooks: groupHooks(route.hooks === undefined ? hooks : [...hooks, normalizeHooks(route.hooks, `${path}.hooks`)]),
    index,
    policy: overridden
      ? { timeouts: normalizeTimeouts(route.timeouts, `${path}.timeouts`, poolPolicy.timeouts), retry: normalizeRetry(route.retry, `${path}.retry`, poolPolicy.retry) }
      : poolPolicy,
  };
}

/** HPM's pathRewrite: patterns tried in order, each applied once; or the user's own function. */
function normalizeRewrite(value: unknown, path: string): (url: string, req: IncomingMessage) => string {
  if (typeof value === 'function') return value as (url: string, req: IncomingMessage) => string;
  const map = plainObject(value, path, "{ '^/v1/': '/v2/' } or (path, req) => path");
  const rules = Object.entries(map).map(([pattern, replacement]) => {
    if (typeof replacement !== 'string') throw new ConfigError(`${path}.${pattern}`, `expected a replacement string, got ${describe(replacement)}`);
    try {
      return [new RegExp(pattern), replacement] as const;
    } catch (error) {
      throw new ConfigError(`${path}.${pattern}`, `expected a regular expression: ${(error as Error).message}`);
    }
  });
  return (url) => {
    let rewritten = url;
    for (const [pattern, replacement] of rules) rewritten = rewritten.replace(pattern, replacement);
    return rewritten.startsWith('/') ? rewritten : `/${rewritten}`;
  };
}

const HOOK_NAMES = ['request', 'response', 'error', 'finish'] as const;

/** Each kind's hooks in order, bound to their objects, so the request path only walks arrays (usually empty). */
function groupHooks(list: readonly Hooks[]): RouteHooks {
  const bound = <K extends (typeof HOOK_NAMES)[number]>(name: K): RouteHooks[K] => {
    const found: Array<(...args: never[]) => unknown> = [];
    for (const hooks of list) {
      const hook = hooks[name] as ((...args: never[]) => unknown) | undefined;
      if (hook) found.push(hook.bind(hooks));
    }
    return found as unknown as RouteHooks[K];
  };
  return { request: bound('request'), response: bound('response'), error: bound('error'), finish: bound('finish') };
}

export function normalizeHooks(value: unknown, path: string): Hooks {
  const hooks = plainObject(value, path, '{ request({ headers }) { headers["x-tenant"] = "acme"; } }');
  knownKeys(hooks, path, [...HOOK_NAMES]);
  for (const name of HOOK_NAMES) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function') throw new ConfigError(`${path}.${name}`, `expected a function, got ${describe(hooks[name])}`);
  }
  return hooks as Hooks;
}

function routePath(value: unknown, path: string): string {
  const text = requiredString(value, path, "'/api'");
  if (!text.startsWith('/')) throw new ConfigError(path, `expected a path starting with "/", got ${describe(text)}`);
  return text.length > 1 ? text.replace(/\/+$/, '') : text;
}

/**
 * A RegExp with `g` or `y` keeps `lastIndex` between tests, so one route would match a request
 * and miss the next identical one: refused rather than silently rewritten.
 */
function statelessRegExp(value: RegExp, path: string): RegExp {
  if (value.global || value.sticky) {
    throw new ConfigError(path, `expected a RegExp without the g or y flag (they make test() alternate between matching and not), got ${String(value)}`);
  }
  return value;
}

function hostMatch(value: unknown, path: string): string | RegExp {
  if (value instanceof RegExp) return statelessRegExp(value, path);
  return requiredString(value, path, "'static.example.com' or '*.example.com'").toLowerCase();
}

function matchPairs(value: unknown, path: string, key: (name: string) => string): Array<[string, HeaderMatch]> {
  if (value === undefined) return [];
  const object = plainObject(value, path, "{ 'x-canary': 'yes' }");
  return Object.entries(object).map(([name, match]) => {
    if (match instanceof RegExp) return [key(name), statelessRegExp(match, `${path}.${name}`)];
    if (typeof match !== 'string') throw new ConfigError(`${path}.${name}`, `expected a string or a RegExp, got ${describe(match)}`);
    return [key(name), match];
  });
}

function methods(value: unknown, path: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new ConfigError(path, "expected a method like 'GET' or a list of them");
  return list.map((method, i) => requiredString(method, Array.isArray(value) ? `${path}[${i}]` : path, "'GET'").toUpperCase());
}
