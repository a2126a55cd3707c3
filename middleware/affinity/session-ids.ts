import { randomFillSync } from 'node:crypto';
import { SESSION_BYTES } from './cookie-value.js';

const POOL_BYTES = SESSION_BYTES * 512;
let pool = Buffer.alloc(0);
let at = POOL_BYTES;

/**
 * A new random session id. Ids are cut from a buffer of CSPRNG bytes refilled 512 ids at a
 * time: one `randomBytes(12)` per new sticky client was a syscall-sized cost on the hot path.
 * Each id is a copy, so refilling never changes one already handed out.
 */
export function newSessionId(): Buffer {
  if (at + SESSION_BYTES > POOL_BYTES) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    at = 0;
  }
  const id = Buffer.from(pool.subarray(at, at + SESSION_BYTES));
  at += SESSION_BYTES;
  return id;
}

/** The session of a first cookie, before the client has sent it back: all zeros, which a drawn id never is in practice. */
export const UNASSIGNED_SESSION: Buffer = Buffer.alloc(SESSION_BYTES);

export function isUnassignedSession(session: Buffer): boolean {
  return session.equals(UNASSIGNED_SESSION);
}
