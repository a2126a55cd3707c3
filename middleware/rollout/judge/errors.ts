import { freshRatios, logEValue, observe, type LogRatios } from './evalue.js';

/**
 * The sequential error test. Condition on error events: if the canary's error rate is at most
 * `ratio` times the baseline's, an error falls on the canary with probability
 * p₀ = s·r / (s·r + 1 − s), where s is the canary's measured share of the requests in the same
 * second (so skew from stickiness or cohorts is accounted for). Each second's errors are a
 * binomial batch under that p₀; the alternatives are canaries `ratio × g` worse for g in
 * GRID. Only two integers per arm per second are needed (Lindon & Malek's multinomial test, in
 * its two-arm form).
 */
export const GRID: readonly number[] = [1.5, 2, 3, 5, 10, 30];

export interface ErrorTest {
  readonly ratio: number;
  readonly logs: LogRatios;
  /** Error events folded in so far (both arms). */
  events: number;
}

export function newErrorTest(ratio: number, logs?: readonly number[]): ErrorTest {
  return { ratio, logs: logs && logs.length === GRID.length ? [...logs] : freshRatios(GRID.length), events: 0 };
}

export interface SecondCounts {
  canaryRequests: number;
  canaryErrors: number;
  baselineRequests: number;
  baselineErrors: number;
}

/** Probability that an error is the canary's when it is `rho` times as error-prone, at share `s`. */
export function canaryErrorProbability(s: number, rho: number): number {
  return (s * rho) / (s * rho + 1 - s);
}

/** Fold in one second (or any batch whose share is one number). */
export function observeSecond(test: ErrorTest, counts: SecondCounts): void {
  const { canaryRequests: nc, baselineRequests: nb } = counts;
  const errors = counts.canaryErrors + counts.baselineErrors;
  if (errors === 0 || nc <= 0 || nb <= 0) return; // no events, or no comparison this second
  const s = nc / (nc + nb);
  const p0 = canaryErrorProbability(s, test.ratio);
  const alternatives = GRID.map((g) => canaryErrorProbability(s, test.ratio * g));
  observe(test.logs, counts.canaryErrors, errors, p0, alternatives);
  test.events += errors;
}

export function eValueOf(test: ErrorTest): number {
  return Math.exp(logEValue(test.logs));
}

/** Is the canary worse with this confidence (e-value ≥ 1/α)? */
export function canaryWorse(test: ErrorTest, alpha: number): boolean {
  return logEValue(test.logs) >= Math.log(1 / alpha);
}
