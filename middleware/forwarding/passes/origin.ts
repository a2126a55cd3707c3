import type { ProxyTarget } from '../../pool/server.js';

/** What a response header is rewritten from (the server as it knows itself) and to (what the client sees). */
export interface OriginRewrite {
  /** `http://10.0.0.1:5001`, and the Host sent with changeOrigin (`api.internal:5001`), either of which a server may answer with. */
  readonly serverOrigins: readonly string[];
  readonly serverHost: string;
  /** The server URL's base path ('' or `/app`). */
  readonly basePath: string;
  /** `https://shop.example.com`: the scheme and Host the client used. */
  readonly clientOrigin: string;
  /** The prefix the route stripped ('' or `/static`). */
  readonly clientPrefix: string;
}

/**
 * The server's `Location` as the client must see it (NGINX's `proxy_redirect default`): the
 * server's own origin becomes the client's, and its base path the route's prefix. Locations
 * elsewhere are left alone.
 */
export function rewriteLocation(location: string, rewrite: OriginRewrite): string {
  for (const origin of rewrite.serverOrigins) {
    if (startsWithOrigin(location, origin)) return rewrite.clientOrigin + swapPrefix(location.slice(origin.length) || '/', rewrite);
  }
  if (location.startsWith('/') && !location.startsWith('//')) return swapPrefix(location, rewrite);
  return location;
}

/**
 * The server's `Set-Cookie` for the client: a `Domain` naming the server goes (the cookie is
 * then the client's host's), and a `Path` under the base path moves under the route's prefix
 * (http-proxy's cookieDomainRewrite and cookiePathRewrite).
 */
export function rewriteSetCookie(cookie: string, rewrite: OriginRewrite): string {
  const parts = cookie.split(';');
  let changed = false;
  for (let i = parts.length - 1; i > 0; i--) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (name === 'domain' && value.replace(/^\./, '').toLowerCase() === rewrite.serverHost) {
      parts.splice(i, 1);
      changed = true;
    } else if (name === 'path' && value.startsWith('/')) {
      // a cookie for the server's root is one for the whole prefix: `/static` also matches `/static` itself
      let moved = swapPrefix(value, rewrite);
      if (rewrite.clientPrefix !== '' && value === '/' && rewrite.basePath === '') moved = rewrite.clientPrefix;
      if (moved !== value) {
        parts[i] = ` Path=${moved}`;
        changed = true;
      }
    }
  }
  return changed ? parts.join(';') : cookie;
}

/** Does this rewrite change anything a client could see? */
export function rewritesPaths(rewrite: Pick<OriginRewrite, 'basePath' | 'clientPrefix'>): boolean {
  return rewrite.basePath !== rewrite.clientPrefix;
}

/** The origins a server may call itself by: its URL's, and the Host sent with changeOrigin. */
export function serverOrigins(target: ProxyTarget, hostHeader: string | undefined): string[] {
  const host = target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname;
  const scheme = target.protocol.slice(0, -1);
  const defaultPort = target.protocol === 'https:' ? '443' : '80';
  const origins = [`${scheme}://${host}:${target.port}`];
  if (target.port === defaultPort) origins.push(`${scheme}://${host}`);
  if (hostHeader !== undefined && !origins.includes(`${scheme}://${hostHeader}`)) origins.push(`${scheme}://${hostHeader}`);
  return origins;
}

function startsWithOrigin(location: string, origin: string): boolean {
  if (location.length < origin.length || location.slice(0, origin.length).toLowerCase() !== origin.toLowerCase()) return false;
  const next = location.charCodeAt(origin.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */ || next === 35; /* # */
}

/** `/app/x` with base path `/app` and prefix `/static` → `/static/x`; a path outside the base path stays. */
function swapPrefix(path: string, { basePath, clientPrefix }: Pick<OriginRewrite, 'basePath' | 'clientPrefix'>): string {
  if (basePath === clientPrefix) return path;
  if (basePath !== '' && !(path === basePath || path.startsWith(`${basePath}/`) || path.startsWith(`${basePath}?`))) return path;
  const rest = path.slice(basePath.length);
  if (clientPrefix === '') return rest === '' || !rest.startsWith('/') ? `/${rest}` : rest;
  return rest === '/' ? `${clientPrefix}/` : clientPrefix + rest;
}
