import { bucketOfRank, middleOf, totalOf, BUCKETS } from '../histogram.js';
import { upperQuantile, upperTail } from './normal.js';

/**
 * Mann–Whitney U on two latency histograms of the same layout (Kayenta's test), one-sided: is
 * the canary stochastically slower? Values in one bucket are ties; the variance carries the tie
 * correction. Answers the p-value (normal approximation; fine from a few dozen samples per arm).
 */
export function mannWhitneySlower(canary: readonly number[], baseline: readonly number[]): number {
  const n1 = totalOf(canary);
  const n2 = totalOf(baseline);
  if (n1 === 0 || n2 === 0) return 1;
  let below = 0; // baseline values in lower buckets
  let u = 0;
  let ties = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const c = canary[i] ?? 0;
    const b = baseline[i] ?? 0;
    u += c * (below + b / 2);
    below += b;
    const t = c + b;
    ties += t * t * t - t;
  }
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return 1;
  const z = (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance); // continuity correction
  return upperTail(z);
}

/**
 * A ratio of quantiles that noise cannot inflate: the canary's `q`-quantile at its lower
 * confidence bound over the baseline's at its upper bound (order statistics: the number of
 * values below a true quantile is binomial), read at bucket middles (buckets are ~9 % wide). Undefined when either arm
 * has too few values for a bound (a p99 needs a few hundred).
 */
export function boundedQuantileRatio(canary: readonly number[], baseline: readonly number[], q: number, alpha: number): number | undefined {
  const z = upperQuantile(alpha);
  const n1 = totalOf(canary);
  const n2 = totalOf(baseline);
  const low = Math.floor(n1 * q - z * Math.sqrt(n1 * q * (1 - q)));
  const high = Math.ceil(n2 * q + z * Math.sqrt(n2 * q * (1 - q))) + 1;
  if (low < 1 || high > n2 || n1 * (1 - q) < 1) return undefined;
  const canaryLow = middleOf(bucketOfRank(canary, low));
  const baselineHigh = middleOf(bucketOfRank(baseline, high));
  return baselineHigh > 0 ? canaryLow / baselineHigh : undefined;
}
