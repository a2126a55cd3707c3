import { quantileOf } from '../histogram.js';
import type { AnalysisConfig, ArmWindow } from './analysis.js';
import { canaryWorse, eValueOf, type ErrorTest } from './errors.js';
import { guardrailTripped } from './guardrail.js';
import { boundedQuantileRatio, mannWhitneySlower } from './latency.js';
import { formatConfidence, formatCount, formatMs, formatRate, type ArmSummary, type Verdict } from './verdict.js';

export type { AnalysisConfig, ArmWindow, InsufficientAction } from './analysis.js';
export { newErrorTest, observeSecond, eValueOf, type ErrorTest, type SecondCounts } from './errors.js';
export type { Verdict, VerdictKind, Rule, ArmSummary } from './verdict.js';

export function summarize(arm: ArmWindow): ArmSummary {
  return {
    requests: arm.requests,
    errors: arm.errors,
    errorRate: arm.requests > 0 ? arm.errors / arm.requests : 0,
    p50Ms: quantileOf(arm.buckets, 0.5),
    p99Ms: quantileOf(arm.buckets, 0.99),
  };
}

/**
 * The checks that run every second: the guardrail on the last few seconds of canary traffic,
 * then the sequential error test on the step so far. Undefined: nothing to say yet.
 * `alpha` is this step's share of the rollout's 1 − confidence.
 */
export function judgeContinuous(input: {
  recent: { requests: number; errors: number };
  canary: ArmWindow;
  baseline: ArmWindow;
  test: ErrorTest;
  analysis: AnalysisConfig;
  alpha: number;
}): Verdict | undefined {
  const { recent, analysis, alpha } = input;
  const canary = summarize(input.canary);
  const baseline = summarize(input.baseline);
  if (guardrailTripped(recent.requests, recent.errors, analysis.maxErrorRate, analysis.guardrailMinRequests, alpha)) {
    const seconds = Math.round(analysis.guardrailWindowMs / 1000);
    return {
      kind: 'fail', rule: 'guardrail', canary, baseline,
      reason: `canary ${formatRate(recent.errors / recent.requests)} errors over the last ${seconds} s (${formatCount(recent.errors)} of ${formatCount(recent.requests)} requests), above the ${formatRate(analysis.maxErrorRate)} guardrail`,
    };
  }
  if (canaryWorse(input.test, alpha)) {
    return {
      kind: 'fail', rule: 'errors', canary, baseline, eValue: eValueOf(input.test),
      reason: `canary ${formatRate(canary.errorRate)} errors vs ${formatRate(baseline.errorRate)}, ${formatCount(canary.requests)} requests, ${formatConfidence(1 - alpha)} confidence`,
    };
  }
  return undefined;
}

/**
 * The end of a bake: enough canary traffic (else `insufficient`), then latency (a p99 ratio
 * bounded at the step's confidence, and Mann–Whitney with a median tolerance), else `pass`.
 */
export function judgeBake(input: { canary: ArmWindow; baseline: ArmWindow; test: ErrorTest; analysis: AnalysisConfig; alpha: number }): Verdict {
  const { analysis, alpha } = input;
  const canary = summarize(input.canary);
  const baseline = summarize(input.baseline);
  const eValue = eValueOf(input.test);
  if (canary.requests < analysis.minRequests) {
    return {
      kind: 'insufficient', rule: 'traffic', canary, baseline, eValue,
      reason: `only ${formatCount(canary.requests)} canary requests in the bake, ${formatCount(analysis.minRequests)} needed`,
    };
  }
  const ratio = boundedQuantileRatio(input.canary.buckets, input.baseline.buckets, 0.99, alpha);
  const p = mannWhitneySlower(input.canary.buckets, input.baseline.buckets);
  const figures = { eValue, mannWhitneyP: p, ...(ratio !== undefined && { p99Ratio: ratio }) };
  if (ratio !== undefined && ratio > analysis.p99Ratio) {
    return {
      kind: 'fail', rule: 'latency', canary, baseline, ...figures,
      reason: `canary p99 ${formatMs(canary.p99Ms)} vs ${formatMs(baseline.p99Ms)}: at least ${ratio.toFixed(2)}x with ${formatConfidence(1 - alpha)} confidence, limit ${analysis.p99Ratio}x`,
    };
  }
  if (p < alpha && canary.p50Ms > baseline.p50Ms * (1 + analysis.latencyTolerance)) {
    return {
      kind: 'fail', rule: 'latency', canary, baseline, ...figures,
      reason: `canary slower: p50 ${formatMs(canary.p50Ms)} vs ${formatMs(baseline.p50Ms)}, p99 ${formatMs(canary.p99Ms)} vs ${formatMs(baseline.p99Ms)} (Mann-Whitney p = ${p.toExponential(1)})`,
    };
  }
  return {
    kind: 'pass', rule: 'bake', canary, baseline, ...figures,
    reason: `canary ${formatRate(canary.errorRate)} errors vs ${formatRate(baseline.errorRate)}, p99 ${formatMs(canary.p99Ms)} vs ${formatMs(baseline.p99Ms)}, ${formatCount(canary.requests)} requests`,
  };
}
