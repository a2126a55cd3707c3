/**
 * Mixtures of one-sided likelihood ratios for binomial counts, over a fixed grid of
 * alternatives. Under the null (success probability at most `p0`), each component is a
 * nonnegative supermartingale (the likelihood ratio is monotone in the true probability), so
 * their average is too, and by Ville's inequality it ever reaching 1/α has probability at most
 * α: an e-process. It can be looked at every second, or after every event, without a peeking
 * penalty. `p0` may change from one batch to the next (the canary's share of traffic moves).
 */

/** log of each component's likelihood ratio; all zeros at the start. */
export type LogRatios = number[];

export function freshRatios(size: number): LogRatios {
  return new Array<number>(size).fill(0);
}

/**
 * Fold in a batch: `x` successes out of `n` trials, null probability `p0`, alternatives
 * `alternatives[k]` (each above `p0`; one at or below it is skipped for this batch).
 */
export function observe(logs: LogRatios, x: number, n: number, p0: number, alternatives: readonly number[]): void {
  if (n <= 0 || !(p0 > 0) || !(p0 < 1)) return;
  const y = n - x;
  for (let k = 0; k < logs.length; k++) {
    const p = alternatives[k]!;
    if (!(p > p0) || !(p < 1)) continue;
    logs[k]! += x * Math.log(p / p0) + y * Math.log((1 - p) / (1 - p0));
  }
}

/** The mixture's e-value (uniform weights), computed in log space. */
export function logEValue(logs: readonly number[]): number {
  if (logs.length === 0) return 0;
  let max = -Infinity;
  for (const value of logs) if (value > max) max = value;
  let sum = 0;
  for (const value of logs) sum += Math.exp(value - max);
  return max + Math.log(sum / logs.length);
}
