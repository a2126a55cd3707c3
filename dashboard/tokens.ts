import { createHash, timingSafeEqual } from 'node:crypto';

/** A machine client of the JSON API: its name is the user the audit log records. */
export interface ApiToken {
  name: string;
  token: string;
}

/**
 * The name of the token `given` is, or undefined. Both sides are hashed with SHA-256 first, so
 * the compared buffers always have the same length, and every token is compared, so the time
 * taken says neither which one matched nor how much of one did.
 */
export function tokenChecker(tokens: readonly ApiToken[]): (given: string) => string | undefined {
  const expected = tokens.map((token) => ({ name: token.name, digest: sha256(token.token) }));
  return (given) => {
    const digest = sha256(given);
    let match: string | undefined;
    for (const token of expected) if (timingSafeEqual(digest, token.digest) && match === undefined) match = token.name;
    return match;
  };
}

/** `Authorization: Bearer <token>` → the token (RFC 6750's b64token characters); anything else → undefined. */
export function parseBearer(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '');
  return match ? match[1] : undefined;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
