import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens without sessions: a token is an HMAC of the user under a key made per dashboard,
 * so only a page this dashboard rendered for that user can hold it. A restart changes the key,
 * and open pages get a new token with their next load.
 */
export class CsrfTokens {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  tokenFor(user: string): string {
    return createHmac('sha256', this.#key).update(`csrf\0${user}`).digest('base64url');
  }

  verify(user: string, token: unknown): boolean {
    if (typeof token !== 'string' || token.length === 0 || token.length > 128) return false;
    const expected = Buffer.from(this.tokenFor(user));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
