/**
 * Log-linear latency buckets: 8 per doubling from 0.1 ms (about 9 % wide), up to ~100 s.
 * Counting is an index computation and an increment; two histograms of the same layout add and
 * compare bucket by bucket, which is all the judge and the shared-store flush need.
 */
export const BUCKETS = 160;
const PER_DOUBLING = 8;
const FLOOR_MS = 0.1;

/** The bucket a latency falls in. */
export function bucketOf(ms: number): number {
  if (!(ms > FLOOR_MS)) return 0;
  const index = Math.floor(Math.log2(ms / FLOOR_MS) * PER_DOUBLING);
  return index >= BUCKETS ? BUCKETS - 1 : index;
}

/** The lower edge of a bucket, in milliseconds. */
export function lowerEdge(bucket: number): number {
  return bucket <= 0 ? 0 : FLOOR_MS * 2 ** (bucket / PER_DOUBLING);
}

/** The upper edge of a bucket, in milliseconds. */
export function upperEdge(bucket: number): number {
  return FLOOR_MS * 2 ** ((bucket + 1) / PER_DOUBLING);
}

/** A bucket's middle (geometric), as a representative value. */
export function middleOf(bucket: number): number {
  return bucket <= 0 ? FLOOR_MS / 2 : FLOOR_MS * 2 ** ((bucket + 0.5) / PER_DOUBLING);
}

export function emptyBuckets(): number[] {
  return new Array<number>(BUCKETS).fill(0);
}

/** Add `from` into `into`, bucket by bucket. */
export function addBuckets(into: number[], from: readonly number[]): void {
  for (let i = 0; i < BUCKETS; i++) into[i]! += from[i] ?? 0;
}

export function totalOf(buckets: readonly number[]): number {
  let total = 0;
  for (const count of buckets) total += count;
  return total;
}

/**
 * The bucket holding the k-th smallest value (1-based), or -1 when there are fewer values.
 */
export function bucketOfRank(buckets: readonly number[], rank: number): number {
  if (rank < 1) return 0;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= rank) return i;
  }
  return -1;
}

/** A quantile (0..1) as the middle of its bucket; NaN when empty. */
export function quantileOf(buckets: readonly number[], q: number): number {
  const total = totalOf(buckets);
  if (total === 0) return Number.NaN;
  return middleOf(bucketOfRank(buckets, Math.max(1, Math.ceil(q * total))));
}

/** Sparse form for storage and JSON: `[[bucket, count], …]` of the non-empty buckets. */
export function sparse(buckets: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < buckets.length; i++) if (buckets[i]) out.push([i, buckets[i]!]);
  return out;
}

export function fromSparse(pairs: ReadonlyArray<readonly [number, number]>): number[] {
  const buckets = emptyBuckets();
  for (const [bucket, count] of pairs) if (bucket >= 0 && bucket < BUCKETS) buckets[bucket]! += count;
  return buckets;
}
