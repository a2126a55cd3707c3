import { ConfigError } from '../errors.js';
import type { TcpPoolConfig } from '../options/config.js';
import { describe, knownKeys, oneOf, optionalNumber, plainObject, requiredString, type Plain } from '../validate.js';

/** Every TCP default, with its reason. */
export const TCP_DEFAULTS = Object.freeze({
  /** HAProxy's usual `timeout connect 5s` (NGINX waits 60 s, too long to fail over). */
  connectMs: 5000,
  /** NGINX's `proxy_timeout 10m`: a quiet connection is closed, never leaked. */
  idleMs: 600_000,
  /** Two other servers on a failed connect, as HTTP retries; NGINX's `proxy_next_upstream on`. */
  tries: 2,
  algorithm: 'least-connections' as const,
});

/** Options that mean something only to HTTP pools: each is refused on a TCP pool, by name. */
const HTTP_ONLY = ['sticky', 'retry', 'queue', 'maxSockets', 'idleSocketMs', 'changeOrigin', 'retryAfterS', 'rewriteOrigin'];

/** `protocol`, checked: `'http'` (the default) or `'tcp'`. */
export function protocolOf(pool: Plain, path: string): 'http' | 'tcp' {
  return oneOf(pool.protocol, `${path}.protocol`, ['http', 'tcp'] as const, 'http');
}

/**
 * The TCP side of a pool's options. On a TCP pool every HTTP-only option is a ConfigError that
 * names it (it would be silently meaningless otherwise); on an HTTP pool, `proxyProtocol` is.
 */
export function normalizeTcpOptions(pool: Plain, path: string, protocol: 'http' | 'tcp'): TcpPoolConfig | null {
  if (protocol === 'http') {
    if (pool.proxyProtocol !== undefined) throw new ConfigError(`${path}.proxyProtocol`, "a TCP pool option: add protocol: 'tcp', or drop it");
    return null;
  }
  for (const key of HTTP_ONLY) {
    if (pool[key] !== undefined) throw new ConfigError(`${path}.${key}`, `an HTTP pool option, not for a TCP pool (protocol: 'tcp')`);
  }
  const timeouts = plainObject(pool.timeouts ?? {}, `${path}.timeouts`, '{ connectMs: 5000, idleMs: 600000 }');
  for (const key of ['responseMs', 'clientMs']) {
    if (timeouts[key] !== undefined) throw new ConfigError(`${path}.timeouts.${key}`, "an HTTP pool option; a TCP pool has connectMs and idleMs (the idle timeout both ways)");
  }
  knownKeys(timeouts, `${path}.timeouts`, ['connectMs', 'idleMs']);
  if (pool.hash !== undefined) {
    const hash = plainObject(pool.hash, `${path}.hash`, "{ key: 'ip' }");
    if (hash.key !== undefined && hash.key !== 'ip') throw new ConfigError(`${path}.hash.key`, `a TCP connection has no headers or cookies: only 'ip' (the client address), got ${describe(hash.key)}`);
  }
  const proxyProtocol = pool.proxyProtocol === undefined ? null : oneOf(pool.proxyProtocol, `${path}.proxyProtocol`, ['v1', 'v2'] as const, 'v1');
  return {
    connectMs: optionalNumber(timeouts.connectMs, `${path}.timeouts.connectMs`, TCP_DEFAULTS.connectMs, { min: 1 }),
    idleMs: optionalNumber(timeouts.idleMs, `${path}.timeouts.idleMs`, TCP_DEFAULTS.idleMs, { min: 1 }),
    proxyProtocol,
    tries: optionalNumber(pool.retries, `${path}.retries`, TCP_DEFAULTS.tries, { integer: true, max: 100 }),
  };
}

/** A TCP server's address: `tcp://host:port`, or `tls://host:port` for TLS to the server. */
export function normalizeTcpUrl(value: unknown, path: string): string {
  const text = requiredString(value, path, "'tcp://127.0.0.1:6379'");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(path, `expected a URL like 'tcp://127.0.0.1:6379', got ${describe(text)}`);
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') {
    throw new ConfigError(path, `expected a tcp: or tls: URL in a TCP pool, like 'tcp://127.0.0.1:6379', got ${describe(text)} (${url.protocol})`);
  }
  if (!url.hostname || !url.port) throw new ConfigError(path, `expected a host and a port, like 'tcp://127.0.0.1:6379', got ${describe(text)}`);
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash || url.username) {
    throw new ConfigError(path, `expected only a host and a port in a TCP server URL, got ${describe(text)}`);
  }
  return text;
}

/** A TCP check's `send` and `expect` (HAProxy's tcp-check send / expect). */
export function normalizeSendExpect(check: Plain, path: string): { send: Buffer | undefined; expect: string | RegExp | undefined } {
  let send: Buffer | undefined;
  if (check.send !== undefined) {
    if (typeof check.send === 'string' && check.send !== '') send = Buffer.from(check.send, 'utf8');
    else if (Buffer.isBuffer(check.send) && check.send.length > 0) send = Buffer.from(check.send);
    else throw new ConfigError(`${path}.send`, `expected a non-empty string or Buffer like 'PING\\r\\n', got ${describe(check.send)}`);
  }
  let expect: string | RegExp | undefined;
  if (check.expect !== undefined) {
    if (check.expect instanceof RegExp) {
      if (check.expect.global || check.expect.sticky) throw new ConfigError(`${path}.expect`, `expected a RegExp without the g or y flag, got ${String(check.expect)}`);
      expect = check.expect;
    } else if (typeof check.expect === 'string' && check.expect !== '') {
      expect = check.expect;
    } else {
      throw new ConfigError(`${path}.expect`, `expected what the answer starts with ('+PONG') or a RegExp, got ${describe(check.expect)}`);
    }
  }
  return { send, expect };
}
