/**
 * Path normalisation before matching, so that `/api/../admin`, `/api/%2e%2e/admin` and
 * `//admin` are all seen, matched and forwarded as `/admin`.
 */

// Unreserved characters (RFC 3986 §2.3) may be decoded without changing meaning; anything
// else, `%2F` above all, stays encoded, or decoding would invent new path segments.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Decode safe escapes, collapse repeated slashes and resolve dot segments. */
export function normalizePath(path: string): string {
  if (path === '' || path[0] !== '/') path = `/${path}`;
  // The fast path: most requests need none of the work below.
  if (!path.includes('%') && !path.includes('//') && !path.includes('/.')) return path;
  const decoded = path.includes('%') ? decodeUnreserved(path) : path;
  return removeDotSegments(decoded.replace(/\/{2,}/g, '/'));
}

function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : escape.toUpperCase();
  });
}

/** RFC 3986 §5.2.4 on an absolute path; `..` never climbs above the root. */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const output: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') output.pop();
      if (last) output.push(''); // "/a/b/.." → "/a/": a trailing dot segment leaves a trailing slash
    } else {
      output.push(segment);
    }
  }
  return `/${output.join('/')}`;
}

/** Does `path` start with `prefix` at a segment boundary? `/api` matches `/api`, `/api/x`; not `/apix`. */
export function hasSegmentPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */);
}
