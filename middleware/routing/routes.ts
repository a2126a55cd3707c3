import type { IncomingMessage } from 'node:http';
import { parse as parseCookie } from 'cookie';
import type { HeaderMatch, RouteConfig } from '../options.js';
import { hasSegmentPrefix, normalizePath } from './normalize.js';

/** What routing decided for a request. */
export interface RouteMatch {
  pool: string;
  /** The normalised path the route was matched on. */
  path: string;
  /** What goes upstream: the normalised path after `stripPrefix`, with the original query (before `rewrite`). */
  upstreamUrl: string;
  /** The route that matched: its rewrite, hooks and position. */
  route: RouteConfig;
  /** The prefix `stripPrefix` took off this path ('' when none): clients see the server's paths under it. */
  stripped: string;
}

type Check = (req: IncomingMessage, facts: RequestFacts) => boolean;

/** Per-request facts that only some routes need, computed at most once. */
class RequestFacts {
  #cookies: Record<string, string | undefined> | undefined;
  #host: string | undefined;

  cookies(req: IncomingMessage): Record<string, string | undefined> {
    this.#cookies ??= req.headers.cookie ? parseCookie(req.headers.cookie) : {};
    return this.#cookies;
  }

  host(req: IncomingMessage): string {
    this.#host ??= hostWithoutPort(req.headers.host ?? '');
    return this.#host;
  }
}

interface CompiledRoute {
  config: RouteConfig;
  pool: string;
  prefix: string;
  stripPrefix: string | undefined;
  checks: Check[];
}

/** Compile routes once; the returned function matches a request (first match wins). */
export function compileRoutes(routes: readonly RouteConfig[], { caseSensitive }: { caseSensitive: boolean }) {
  const fold = (text: string) => (caseSensitive ? text : text.toLowerCase());
  const compiled: CompiledRoute[] = routes.map((route) => ({
    config: route,
    pool: route.pool,
    prefix: fold(route.path),
    stripPrefix: route.stripPrefix === undefined ? undefined : fold(route.stripPrefix),
    checks: compileChecks(route),
  }));

  return function match(req: IncomingMessage): RouteMatch | undefined {
    const url = originForm(req.url ?? '/');
    if (url === undefined) return undefined;
    const q = url.indexOf('?');
    const path = normalizePath(q === -1 ? url : url.slice(0, q));
    const comparable = caseSensitive ? path : path.toLowerCase();
    let facts: RequestFacts | undefined; // only routes with more than a path need it
    for (const route of compiled) {
      if (!hasSegmentPrefix(comparable, route.prefix)) continue;
      if (route.checks.length > 0) {
        const known = (facts ??= new RequestFacts());
        if (!route.checks.every((check) => check(req, known))) continue;
      }
      const query = q === -1 ? '' : url.slice(q);
      const upstream = upstreamPath(path, comparable, route.stripPrefix);
      const stripped = upstream === path ? '' : path.slice(0, path.length - (upstream === '/' && !path.endsWith('/') ? 0 : upstream.length));
      return { pool: route.pool, path, upstreamUrl: upstream + query, route: route.config, stripped };
    }
    return undefined;
  };
}

/**
 * The request target as a path and query. An absolute-form target (`GET http://h/admin`, which
 * proxies are sent) is routed on its path, as Express sees it, and forwarded in origin form;
 * `*` and authority forms are never routed.
 */
export function originForm(target: string): string | undefined {
  if (target.charCodeAt(0) === 47 /* / */) return target;
  const scheme = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!scheme) return undefined;
  const rest = target.slice(scheme[0].length);
  return rest === '' || rest.startsWith('?') ? `/${rest}` : rest.startsWith('/') ? rest : undefined;
}

function compileChecks(route: RouteConfig): Check[] {
  const checks: Check[] = [];
  const { host, methods } = route;
  if (host !== undefined) checks.push((req, facts) => hostMatches(facts.host(req), host));
  if (methods) checks.push((req) => methods.includes(req.method ?? 'GET'));
  for (const [name, expected] of route.header) {
    checks.push((req) => valueMatches(joinHeader(req.headers[name]), expected));
  }
  for (const [name, expected] of route.cookie) {
    checks.push((req, facts) => valueMatches(facts.cookies(req)[name], expected));
  }
  return checks;
}

function upstreamPath(path: string, comparable: string, stripPrefix: string | undefined): string {
  if (stripPrefix === undefined || stripPrefix === '/' || !hasSegmentPrefix(comparable, stripPrefix)) return path;
  return path.slice(stripPrefix.length) || '/';
}

function hostMatches(host: string, expected: string | RegExp): boolean {
  if (typeof expected !== 'string') return expected.test(host);
  if (expected.startsWith('*.')) return host.endsWith(expected.slice(1)) && host.length > expected.length - 1;
  return host === expected;
}

function valueMatches(value: string | undefined, expected: HeaderMatch): boolean {
  if (value === undefined) return false;
  return typeof expected === 'string' ? value === expected : expected.test(value);
}

function joinHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `Example.com:8080` → `example.com`; `[::1]:80` → `[::1]`. */
export function hostWithoutPort(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  return (end > 0 ? host.slice(0, end) : host).toLowerCase();
}
