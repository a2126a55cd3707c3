import { MAX_WEIGHT } from './algorithm.js';
import { hash32, mix32 } from './hash.js';

/**
 * A built ring as a lookup sees it: a key starts at `start(hash)` and walks `owners`
 * forward, wrapping round; each owner is a member's index. `points` are the sorted points.
 */
export interface Ring {
  readonly points: Uint32Array;
  readonly owners: Int32Array;
  start(hash: number): number;
}

/** A member's weight as the ring uses it: bounded, so that no weight can blow the ring up. */
export function ringWeight(weight: number): number {
  return Number.isFinite(weight) && weight > 0 ? Math.min(weight, MAX_WEIGHT) : 0;
}

/** Points for the heaviest member: a member's share of keys is then within about 2% of its
 *  weight's (ketama's 160 leaves ±8%, several points of share in a small weighted pool). */
const POINTS_AT_MAX_WEIGHT = 2048;
/** The whole ring's budget, whatever the weights: 2^19 points (4 MB; 8 MB while built),
 *  reached from 256 equal members on. */
const MAX_POINTS = 1 << 19;
/** About this many points to a bucket of the prefix index; 2^18 buckets (1 MB) at most. */
const POINTS_PER_BUCKET = 4;
const MAX_INDEX_BITS = 18;
/** Radix sort digits: three passes of 11 bits cover a 32-bit point. */
const DIGIT_BITS = 11;
const DIGITS = 1 << DIGIT_BITS;

/**
 * A consistent-hash ring (ketama's): every member puts points on a circle of 2^32, and a key
 * goes to the first point at or after its hash (a prefix index, then a binary search of a
 * few points: O(1) in practice, O(log points) at worst). A member gets
 * `2048 * weight / maxWeight` points (at least one), scaled down when the total would pass
 * a fixed budget, so the ring's size follows the member count, never the weights' magnitude.
 * A member's points are a prefix of its own sequence, so removing a member moves only the
 * keys on its points, as long as the heaviest weight stays and the budget does not bind
 * (past it, the others' counts may grow by a point each: about 1/points of the keys more).
 * Built in O(points): the points are radix-sorted.
 */
export function buildRing(ids: readonly string[], weights: Float64Array): Ring {
  let totalWeight = 0;
  let maxWeight = 0;
  for (const weight of weights) {
    if (weight <= 0) continue;
    totalWeight += weight;
    maxWeight = Math.max(maxWeight, weight);
  }
  // a member's count depends on its own weight and the heaviest one's, not on how many
  // there are (until the budget binds), so membership changes leave the others' points alone
  const perMaxWeight = Math.min(POINTS_AT_MAX_WEIGHT, Math.floor((MAX_POINTS * maxWeight) / totalWeight));
  const counts = new Int32Array(ids.length);
  let total = 0;
  weights.forEach((weight, i) => {
    if (weight > 0) total += counts[i] = Math.max(1, Math.round((perMaxWeight * weight) / maxWeight));
  });
  const unsortedPoints = new Uint32Array(total);
  const unsortedOwners = new Int32Array(total);
  let at = 0;
  ids.forEach((id, owner) => {
    const base = hash32(id);
    // xor with a mixed index rather than add a stride: two members' points never line up wholesale
    for (let k = 0; k < counts[owner]!; k++) {
      unsortedPoints[at] = mix32(base ^ mix32(Math.imul(k + 1, 0x9e3779b9)));
      unsortedOwners[at++] = owner;
    }
  });
  const [points, owners] = radixSort(unsortedPoints, unsortedOwners);
  const index = prefixIndex(points);
  const shift = 32 - Math.log2(index.length - 1);
  return { points, owners, start: (hash) => firstAtOrAfter(points, index, shift, hash) };
}

/**
 * For each value of a point's top bits, the index of the first point with at least that
 * prefix (one more entry closes the last range): a lookup binary-searches only its own
 * bucket of about four points, one or two cache misses instead of twenty.
 */
function prefixIndex(points: Uint32Array): Uint32Array {
  const bits = Math.min(MAX_INDEX_BITS, Math.max(1, Math.ceil(Math.log2(points.length / POINTS_PER_BUCKET))));
  const buckets = 2 ** bits;
  const index = new Uint32Array(buckets + 1);
  let at = 0;
  for (let bucket = 0; bucket < buckets; bucket++) {
    while (at < points.length && points[at]! >>> (32 - bits) < bucket) at++;
    index[bucket] = at;
  }
  index[buckets] = points.length;
  return index;
}

function firstAtOrAfter(points: Uint32Array, index: Uint32Array, shift: number, hash: number): number {
  const bucket = hash >>> shift;
  let low = index[bucket]!;
  let high = index[bucket + 1]!;
  // within the bucket, or else the first point of a later one
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid]! < hash) low = mid + 1;
    else high = mid;
  }
  return low === points.length ? 0 : low;
}

/** LSD radix sort of points, carrying owners along: O(n), several times a comparison sort's speed here. */
function radixSort(points: Uint32Array, owners: Int32Array): [Uint32Array, Int32Array] {
  let keys: Uint32Array = points;
  let values: Int32Array = owners;
  let nextKeys: Uint32Array = new Uint32Array(keys.length);
  let nextValues: Int32Array = new Int32Array(keys.length);
  const counts = new Int32Array(DIGITS);
  for (let shift = 0; shift < 32; shift += DIGIT_BITS) {
    counts.fill(0);
    for (let i = 0; i < keys.length; i++) counts[(keys[i]! >>> shift) & (DIGITS - 1)]!++;
    let sum = 0;
    for (let d = 0; d < DIGITS; d++) {
      const count = counts[d]!;
      counts[d] = sum;
      sum += count;
    }
    for (let i = 0; i < keys.length; i++) {
      const to = counts[(keys[i]! >>> shift) & (DIGITS - 1)]!++;
      nextKeys[to] = keys[i]!;
      nextValues[to] = values[i]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [values, nextValues] = [nextValues, values];
  }
  return [keys, values];
}
