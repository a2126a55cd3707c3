/**
 * Latency over a sliding window, in log-scale buckets so that recording is O(1) and
 * percentiles come from counts, never from stored samples.
 */
const GROWTH = 1.1; // bucket upper bounds grow 10% apart: percentiles within ~5%
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 200; // 1.1^200 ms ≈ 53 hours: everything fits
const SLOT_MS = 10_000;
const SLOTS = 6; // a one-minute window, moving in 10 s steps

/** Cumulative (all-time) histogram bounds in seconds, Prometheus' defaults. */
export const HISTOGRAM_BOUNDS_S = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface Histogram {
  /** Upper bounds in seconds; a last, implicit +Inf bucket is `count`. */
  bounds: readonly number[];
  /** Cumulative counts per bound, as Prometheus wants them. */
  counts: number[];
  sumSeconds: number;
  count: number;
}

export class LatencyWindow {
  #slots: Uint32Array[] = Array.from({ length: SLOTS }, () => new Uint32Array(BUCKETS));
  #slotStarts: number[] = new Array<number>(SLOTS).fill(0);
  #allTime = new Float64Array(HISTOGRAM_BOUNDS_S.length);
  #sumSeconds = 0;
  #count = 0;

  record(ms: number, now = Date.now()): void {
    const slot = this.#slotFor(now);
    const bucket = ms <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms) / LOG_GROWTH));
    slot[bucket]!++;
    const seconds = ms / 1000;
    this.#sumSeconds += seconds;
    this.#count++;
    for (let i = 0; i < HISTOGRAM_BOUNDS_S.length; i++) {
      if (seconds <= HISTOGRAM_BOUNDS_S[i]!) {
        this.#allTime[i]!++;
        break;
      }
    }
  }

  percentiles(now = Date.now()): Percentiles {
    const merged = new Uint32Array(BUCKETS);
    let total = 0;
    for (let s = 0; s < SLOTS; s++) {
      if (now - this.#slotStarts[s]! >= SLOT_MS * SLOTS) continue;
      const slot = this.#slots[s]!;
      for (let b = 0; b < BUCKETS; b++) merged[b]! += slot[b]!;
    }
    for (let b = 0; b < BUCKETS; b++) total += merged[b]!;
    if (total === 0) return { p50: null, p95: null, p99: null };
    return { p50: quantile(merged, total, 0.5), p95: quantile(merged, total, 0.95), p99: quantile(merged, total, 0.99) };
  }

  histogram(): Histogram {
    const counts: number[] = [];
    let running = 0;
    for (const count of this.#allTime) counts.push((running += count));
    return { bounds: HISTOGRAM_BOUNDS_S, counts, sumSeconds: this.#sumSeconds, count: this.#count };
  }

  #slotFor(now: number): Uint32Array {
    const start = now - (now % SLOT_MS);
    const index = Math.floor(now / SLOT_MS) % SLOTS;
    if (this.#slotStarts[index] !== start) {
      this.#slotStarts[index] = start;
      this.#slots[index]!.fill(0);
    }
    return this.#slots[index]!;
  }
}

function quantile(buckets: Uint32Array, total: number, q: number): number {
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let b = 0; b < buckets.length; b++) {
    seen += buckets[b]!;
    if (seen >= rank) return Math.round(GROWTH ** b * 10) / 10;
  }
  return Math.round(GROWTH ** (buckets.length - 1));
}
