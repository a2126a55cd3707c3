import { freshRatios, logEValue, observe } from './evalue.js';

/** Alternatives for the guardrail, as fractions of the way from `maxErrorRate` to 1. */
const STEPS: readonly number[] = [0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/**
 * The guardrail: over the last few seconds, did the canary's error rate exceed `maxErrorRate`
 * by more than chance explains? It needs `minRequests` canary requests in the window and the
 * window's rate above the bound, and a one-sided likelihood-ratio mixture against
 * "rate ≤ maxErrorRate" past 1/α: a crash loop trips it in a few seconds, one unlucky 5xx
 * among ten requests does not.
 */
export function guardrailTripped(requests: number, errors: number, maxErrorRate: number, minRequests: number, alpha: number): boolean {
  if (requests < minRequests || requests === 0) return false;
  if (errors / requests <= maxErrorRate) return false;
  if (maxErrorRate <= 0) return errors > 0;
  const alternatives = STEPS.map((f) => maxErrorRate + (1 - maxErrorRate) * f);
  const logs = freshRatios(alternatives.length);
  observe(logs, errors, requests, maxErrorRate, alternatives);
  return logEValue(logs) >= Math.log(1 / alpha);
}
