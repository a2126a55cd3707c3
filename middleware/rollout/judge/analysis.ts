/** What to do when a bake ends with too little canary traffic to judge. */
export type InsufficientAction = 'extend' | 'pause' | 'promote';

/** The judge's settings, fully defaulted (see `normalizeAnalysis` for the defaults and why). */
export interface AnalysisConfig {
  /** Guardrail: a canary error rate above this aborts within seconds. */
  readonly maxErrorRate: number;
  /** Canary requests a bake needs before it can pass. */
  readonly minRequests: number;
  /** Of each test: false aborts of a good canary stay below 1 − confidence over the whole rollout. */
  readonly confidence: number;
  /** Latency: the canary's p99 may be at most this many times the baseline's. */
  readonly p99Ratio: number;
  /** Errors: the canary's error rate may be this many times the baseline's before it counts as worse. */
  readonly errorRatio: number;
  /** Latency: Mann–Whitney fails a canary only with its median this much (0.25: 25 %) above the baseline's. */
  readonly latencyTolerance: number;
  /** Guardrail: canary requests the window needs. */
  readonly guardrailMinRequests: number;
  readonly guardrailWindowMs: number;
  readonly onInsufficient: InsufficientAction;
  /** `extend` lengthens a bake this many times at most, then pauses. */
  readonly maxExtensions: number;
}

/** Every error a user sees, as the HTTP status class or the failure kind. */
export interface ArmWindow {
  requests: number;
  errors: number;
  /** Latency histogram (see histogram.ts). */
  buckets: number[];
}
