/** Which rule spoke. */
export type Rule = 'guardrail' | 'errors' | 'latency' | 'traffic' | 'bake';

/**
 * - `continue`: nothing decided yet (the bake goes on);
 * - `pass`: the step's bake is over and every rule passed;
 * - `fail`: roll back;
 * - `insufficient`: the bake is over with too little traffic to tell (never a silent pass).
 */
export type VerdictKind = 'continue' | 'pass' | 'fail' | 'insufficient';

export interface ArmSummary {
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
}

/** What the judge answers, with a sentence for people and the numbers behind it. */
export interface Verdict {
  readonly kind: VerdictKind;
  readonly rule: Rule;
  /** "canary 4.1% errors vs 0.3%, 1,204 requests, 99% confidence". */
  readonly reason: string;
  readonly canary: ArmSummary;
  readonly baseline: ArmSummary;
  /** The sequential error test's e-value (≥ 1/α aborts), when it ran. */
  readonly eValue?: number;
  /** The latency rules' figures, at the end of a bake. */
  readonly p99Ratio?: number;
  readonly mannWhitneyP?: number;
}

const count = new Intl.NumberFormat('en-US');

export function formatCount(value: number): string {
  return count.format(Math.round(value));
}

/** 0.0412 → "4.1%"; small rates keep two decimals. */
export function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return 'n/a';
  const percent = rate * 100;
  return `${percent < 1 && percent > 0 ? percent.toFixed(2) : percent.toFixed(1)}%`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** 0.99 → "99%", 0.995 → "99.5%". */
export function formatConfidence(confidence: number): string {
  return `${Number((confidence * 100).toFixed(2))}%`;
}
