import { parse } from 'cookie';

/** Affinity values are base64url: nothing to decode, and no decodeURIComponent per cookie. */
const verbatim = (value: string): string => value;

/**
 * The value of cookie `name` in a `Cookie` header, or undefined. When the name appears more
 * than once, the first wins (browsers send the most specific path first).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  // most requests carry no affinity cookie: skip parsing the whole header for them
  if (header === undefined || !header.includes(`${name}=`)) return undefined;
  return parse(header, { decode: verbatim })[name];
}

/**
 * The `Cookie` header without any `name=` pair, other pairs kept byte for byte; undefined when
 * nothing is left, so that the caller can delete the header. Returns `header` itself when it
 * holds no such pair.
 */
export function withoutCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || !header.includes(`${name}=`)) return header;
  const kept: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    const pairName = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    if (pairName === name || pair.trim() === '') continue;
    kept.push(pair.trim());
  }
  return kept.length > 0 ? kept.join('; ') : undefined;
}

export interface AffinityCookieOptions {
  ttlMs: number;
  /** Set when the client reached us over HTTPS, so the cookie never travels in clear text. */
  secure: boolean;
}

/**
 * The `Set-Cookie` value for an affinity cookie: HttpOnly, SameSite=Lax, Path=/, Max-Age from the TTL.
 * Written by hand, in the attribute order of `cookie`'s serialize: the name is checked at start-up
 * and the value is base64url, so there is nothing to validate or encode, and a new sticky client
 * costs a string concatenation instead of a serializer's checks.
 */
export function affinitySetCookie(name: string, value: string, options: AffinityCookieOptions): string {
  return `${name}=${value}; Max-Age=${Math.floor(options.ttlMs / 1000)}; Path=/; HttpOnly${options.secure ? '; Secure' : ''}; SameSite=Lax`;
}
