import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * The affinity cookie's value, as pure functions. Layout before base64url:
 *
 *   version (1) | session id (12) | expiry, unix seconds (4) | server tokens (8 each, 1..8) | signature (16)
 *
 * A server token is HMAC(secret, pool, server id) truncated: it names a server only to someone
 * holding the secret, so no id, address or URL can be read from the cookie. One cookie carries
 * a token per sticky pool the client has used (one session id for all), so that two sticky pools
 * behind one host do not keep overwriting each other's pin.
 */

/** A secret as given, or prepared once with `createSecretKey`. */
export type SigningKey = string | KeyObject;

export interface AffinityValue {
  /** 12 random bytes naming the session in the store. */
  readonly session: Buffer;
  /** Epoch milliseconds after which the value is refused; stored in whole seconds. */
  readonly expiresAt: number;
  /** Server tokens, the most recently pinned first. */
  readonly tokens: readonly Buffer[];
}

export interface VerifiedValue {
  readonly value: AffinityValue;
  /** Which of the keys signed it: 0 is the current secret, more is a previous one. */
  readonly keyIndex: number;
}

const VERSION = 1;
export const SESSION_BYTES = 12;
export const TOKEN_BYTES = 8;
export const SIGNATURE_BYTES = 16;
export const MAX_TOKENS = 8;
/** Longer values are refused before any decoding or HMAC: they cannot be ours. */
export const MAX_VALUE_LENGTH = 512;

const HEADER_BYTES = 1 + SESSION_BYTES + 4;
const MIN_BYTES = HEADER_BYTES + TOKEN_BYTES + SIGNATURE_BYTES;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// domain separation: a token can never be replayed as a signature, nor the reverse
const TOKEN_LABEL = 'switchyard/affinity/token\0';
const SIGNATURE_LABEL = 'switchyard/affinity/v1\0';

/** The token naming `serverId` of `pool` under one secret. */
export function serverToken(key: SigningKey, pool: string, serverId: string): Buffer {
  return createHmac('sha256', key).update(`${TOKEN_LABEL}${pool}\0${serverId}`).digest().subarray(0, TOKEN_BYTES);
}

/** Encode and sign a value (with the current secret). Tokens past `MAX_TOKENS` are dropped from the end. */
export function signValue(value: AffinityValue, key: SigningKey): string {
  if (value.session.length !== SESSION_BYTES) throw new RangeError(`session must be ${SESSION_BYTES} bytes`);
  const tokens = value.tokens.slice(0, MAX_TOKENS);
  if (tokens.length === 0) throw new RangeError('an affinity value needs at least one server token');
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + tokens.length * TOKEN_BYTES + SIGNATURE_BYTES);
  bytes[0] = VERSION;
  value.session.copy(bytes, 1);
  bytes.writeUInt32BE(Math.floor(value.expiresAt / 1000), 1 + SESSION_BYTES);
  let at = HEADER_BYTES;
  for (const token of tokens) {
    if (token.length !== TOKEN_BYTES) throw new RangeError(`a server token must be ${TOKEN_BYTES} bytes`);
    at += token.copy(bytes, at);
  }
  sign(key, bytes.subarray(0, at)).copy(bytes, at);
  return bytes.toString('base64url');
}

/**
 * Decode and check a value from a client: well-formed, signed by one of `keys` (current first),
 * not expired at `now`. Anything else, however malformed, gives `undefined`; never throws.
 */
export function verifyValue(text: unknown, keys: readonly SigningKey[], now: number): VerifiedValue | undefined {
  if (typeof text !== 'string' || text.length > MAX_VALUE_LENGTH || !BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  const tokenBytes = bytes.length - HEADER_BYTES - SIGNATURE_BYTES;
  if (bytes.length < MIN_BYTES || tokenBytes % TOKEN_BYTES !== 0 || tokenBytes / TOKEN_BYTES > MAX_TOKENS) return undefined;
  if (bytes[0] !== VERSION) return undefined;
  // checked before the HMAC only to save work: a forged expiry still fails the signature below
  const expiresAt = bytes.readUInt32BE(1 + SESSION_BYTES) * 1000;
  if (expiresAt <= now) return undefined;
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  const keyIndex = keys.findIndex((key) => timingSafeEqual(sign(key, body), signature));
  if (keyIndex === -1) return undefined;
  const tokens: Buffer[] = [];
  for (let at = HEADER_BYTES; at < body.length; at += TOKEN_BYTES) tokens.push(body.subarray(at, at + TOKEN_BYTES));
  return { value: { session: body.subarray(1, 1 + SESSION_BYTES), expiresAt, tokens }, keyIndex };
}

function sign(key: SigningKey, body: Buffer): Buffer {
  return createHmac('sha256', key).update(SIGNATURE_LABEL).update(body).digest().subarray(0, SIGNATURE_BYTES);
}
