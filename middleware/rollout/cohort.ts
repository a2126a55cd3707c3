import type { IncomingMessage } from 'node:http';
import { mix32 } from '../algorithms/hash.js';

/** Cohort buckets: 10 000, so a share has two decimals (0.01 % steps). */
export const COHORT_BUCKETS = 10_000;

/** A stable key → a bucket in [0, 10000): FNV-1a over the key's code units, murmur3's finaliser. */
export function cohortBucket(key: string | Uint8Array): number {
  let h = 0x811c9dc5;
  if (typeof key === 'string') {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  }
  return mix32(h) % COHORT_BUCKETS;
}

/** Buckets [0, share × 100) are the canary's: raising the share only adds buckets, never moves one out. */
export function inCanary(bucket: number, sharePercent: number): boolean {
  return bucket < Math.round(sharePercent * 100);
}

/** What a request's cohort is read from; undefined: it has no key (its arm is then random by share). */
export type CohortReader = (req: IncomingMessage) => string | undefined;

/** A `header:<name>` key's reader (the first value of a repeated header). */
export function headerReader(name: string): CohortReader {
  return (req) => {
    const value = req.headers[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined || first === '' ? undefined : first;
  };
}
