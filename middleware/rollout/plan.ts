import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../errors.js';
import { knownKeys, oneOf, optionalNumber, plainObject, requiredString } from '../validate.js';
import type { AnalysisConfig, InsufficientAction } from './judge/analysis.js';

/** Which servers are the canary: by labels (all must match) or by ids. */
export type CanarySelector = { label: Record<string, string> } | { ids: string[] };

/** Where a request's cohort comes from: the affinity session, a header, or your function. */
export type CohortKey = 'session' | `header:${string}` | ((req: IncomingMessage) => string | undefined);

/** One step: the canary's share of traffic in percent (0 < share ≤ 100) and how long it bakes. */
export interface RolloutStep {
  share: number;
  /** Default: the previous step's bake, or 60 000 for the first. A step at share 100 does not bake. */
  bakeMs?: number;
}

/**
 * A rollout plan, as `pool.rollout(plan)` takes it.
 *
 * @example
 * await balancer.pool('api').rollout({
 *   canary: { label: { version: 'v2' } },
 *   steps: [{ share: 1, bakeMs: 120_000 }, { share: 5 }, { share: 25 }, { share: 50 }, { share: 100 }],
 *   analysis: { maxErrorRate: 0.05, minRequests: 200, confidence: 0.99, p99Ratio: 1.5 },
 *   cohort: { key: 'session' },
 * });
 */
export interface RolloutPlan {
  canary: CanarySelector;
  steps: RolloutStep[];
  analysis?: Partial<AnalysisConfig> & { onInsufficient?: InsufficientAction };
  cohort?: { key: CohortKey };
  /** After the last step: `promote` drains and removes the baseline servers; `keep` leaves them. Default `promote`. */
  final?: 'promote' | 'keep';
  /** How long the baseline servers drain on promote. Default: the pool's drainTimeoutMs. */
  drainMs?: number;
}

export interface NormalizedStep {
  readonly share: number;
  readonly bakeMs: number;
}

/** A plan as stored: plain JSON (a cohort function is kept aside, in memory). */
export interface NormalizedPlan {
  readonly canary: { readonly label?: Readonly<Record<string, string>>; readonly ids?: readonly string[] };
  readonly steps: readonly NormalizedStep[];
  readonly analysis: AnalysisConfig;
  /** 'session', 'header:<name>', 'function' (not storable) or 'random'. */
  readonly cohort: string;
  readonly final: 'promote' | 'keep';
  readonly drainMs: number | null;
}

const DEFAULT_BAKE_MS = 60_000;

/** Defaults, each with its reason. */
export const ANALYSIS_DEFAULTS: AnalysisConfig = Object.freeze({
  maxErrorRate: 0.05, // Flagger's request-success-rate example: 99 %; a guardrail sits well above noise
  minRequests: 200, // Kayenta wants ≥ 50 points per metric; a p99 bound needs a few hundred requests
  confidence: 0.99,
  p99Ratio: 1.5,
  errorRatio: 1.5, // servers differ a little even on one version: "worse" means clearly worse
  latencyTolerance: 0.25, // Kayenta's NetflixACAJudge tolerance
  guardrailMinRequests: 10,
  guardrailWindowMs: 10_000,
  onInsufficient: 'extend', // Argo pauses on inconclusive; extending first gives traffic a chance
  maxExtensions: 3,
});

/** Validate a plan: a ConfigError names the option's path (`rollout.steps[1].share`). */
export function normalizePlan(input: unknown, path = 'rollout'): { plan: NormalizedPlan; keyFn: ((req: IncomingMessage) => string | undefined) | undefined } {
  const plan = plainObject(input, path, "{ canary: { label: { version: 'v2' } }, steps: [{ share: 5 }, { share: 100 }] }");
  knownKeys(plan, path, ['canary', 'steps', 'analysis', 'cohort', 'final', 'drainMs']);
  const canary = normalizeCanary(plan.canary, `${path}.canary`);
  if (!Array.isArray(plan.steps) || plan.steps.length === 0) throw new ConfigError(`${path}.steps`, 'expected a non-empty array like [{ share: 5, bakeMs: 60000 }, { share: 100 }]');
  let bake = DEFAULT_BAKE_MS;
  let last = 0;
  const steps = plan.steps.map((raw: unknown, i: number) => {
    const stepPath = `${path}.steps[${i}]`;
    const step = plainObject(raw, stepPath, '{ share: 5, bakeMs: 60000 }');
    knownKeys(step, stepPath, ['share', 'bakeMs']);
    if (step.share === undefined) throw new ConfigError(`${stepPath}.share`, 'expected a number from 0.01 to 100');
    const share = optionalNumber(step.share, `${stepPath}.share`, 0, { min: 0.01, max: 100 });
    if (share <= last) throw new ConfigError(`${stepPath}.share`, `expected more than the previous step's ${last}: cohorts only grow`);
    last = share;
    bake = optionalNumber(step.bakeMs, `${stepPath}.bakeMs`, bake, { min: 0, integer: true });
    return Object.freeze({ share, bakeMs: share >= 100 ? 0 : bake });
  });
  const analysis = normalizeAnalysis(plan.analysis, `${path}.analysis`);
  const { cohort, keyFn } = normalizeCohort(plan.cohort, `${path}.cohort`);
  const final = oneOf(plan.final, `${path}.final`, ['promote', 'keep'] as const, 'promote');
  const drainMs = plan.drainMs === undefined ? null : optionalNumber(plan.drainMs, `${path}.drainMs`, 0, { integer: true });
  return { plan: Object.freeze({ canary, steps: Object.freeze(steps), analysis, cohort, final, drainMs }), keyFn };
}

/** Is this server part of the canary the selector names: by its id, or by carrying every label? */
export function isCanary(selector: NormalizedPlan['canary'], server: { readonly id: string; readonly labels: Readonly<Record<string, string>> }): boolean {
  if (selector.ids) return selector.ids.includes(server.id);
  return Object.entries(selector.label ?? {}).every(([key, value]) => server.labels[key] === value);
}

function normalizeCanary(value: unknown, path: string): NormalizedPlan['canary'] {
  const canary = plainObject(value, path, "{ label: { version: 'v2' } } or { ids: ['api-7'] }");
  knownKeys(canary, path, ['label', 'ids']);
  if ((canary.label === undefined) === (canary.ids === undefined)) throw new ConfigError(path, "expected exactly one of label or ids, like { label: { version: 'v2' } }");
  if (canary.ids !== undefined) {
    if (!Array.isArray(canary.ids) || canary.ids.length === 0) throw new ConfigError(`${path}.ids`, "expected a non-empty array of server ids like ['api-7']");
    return Object.freeze({ ids: Object.freeze(canary.ids.map((id: unknown, i: number) => requiredString(id, `${path}.ids[${i}]`, "'api-7'"))) });
  }
  const label = plainObject(canary.label, `${path}.label`, "{ version: 'v2' }");
  if (Object.keys(label).length === 0) throw new ConfigError(`${path}.label`, "expected at least one label like { version: 'v2' }");
  for (const [key, v] of Object.entries(label)) requiredString(v, `${path}.label.${key}`, "'v2'");
  return Object.freeze({ label: Object.freeze({ ...(label as Record<string, string>) }) });
}

function normalizeAnalysis(value: unknown, path: string): AnalysisConfig {
  if (value === undefined) return ANALYSIS_DEFAULTS;
  const a = plainObject(value, path, '{ maxErrorRate: 0.05, minRequests: 200, confidence: 0.99, p99Ratio: 1.5 }');
  knownKeys(a, path, Object.keys(ANALYSIS_DEFAULTS));
  const d = ANALYSIS_DEFAULTS;
  return Object.freeze({
    maxErrorRate: optionalNumber(a.maxErrorRate, `${path}.maxErrorRate`, d.maxErrorRate, { max: 1 }),
    minRequests: optionalNumber(a.minRequests, `${path}.minRequests`, d.minRequests, { integer: true }),
    confidence: optionalNumber(a.confidence, `${path}.confidence`, d.confidence, { min: 0.5, max: 0.999999 }),
    p99Ratio: optionalNumber(a.p99Ratio, `${path}.p99Ratio`, d.p99Ratio, { min: 1 }),
    errorRatio: optionalNumber(a.errorRatio, `${path}.errorRatio`, d.errorRatio, { min: 1 }),
    latencyTolerance: optionalNumber(a.latencyTolerance, `${path}.latencyTolerance`, d.latencyTolerance),
    guardrailMinRequests: optionalNumber(a.guardrailMinRequests, `${path}.guardrailMinRequests`, d.guardrailMinRequests, { min: 1, integer: true }),
    guardrailWindowMs: optionalNumber(a.guardrailWindowMs, `${path}.guardrailWindowMs`, d.guardrailWindowMs, { min: 1000, integer: true }),
    onInsufficient: oneOf(a.onInsufficient, `${path}.onInsufficient`, ['extend', 'pause', 'promote'] as const, d.onInsufficient),
    maxExtensions: optionalNumber(a.maxExtensions, `${path}.maxExtensions`, d.maxExtensions, { integer: true, max: 100 }),
  });
}

function normalizeCohort(value: unknown, path: string): { cohort: string; keyFn: ((req: IncomingMessage) => string | undefined) | undefined } {
  if (value === undefined) return { cohort: 'random', keyFn: undefined };
  const cohort = plainObject(value, path, "{ key: 'session' }");
  knownKeys(cohort, path, ['key']);
  const key = cohort.key;
  if (typeof key === 'function') return { cohort: 'function', keyFn: key as (req: IncomingMessage) => string | undefined };
  if (key === 'session') return { cohort: 'session', keyFn: undefined };
  if (typeof key === 'string' && /^header:[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(key)) return { cohort: key.toLowerCase(), keyFn: undefined };
  throw new ConfigError(`${path}.key`, `expected 'session', 'header:<name>' or a function (req) => string, got ${typeof key === 'string' ? `"${key}"` : typeof key}`);
}

/** Steps that are judged (below 100 %): each gets an equal part of 1 − confidence. */
export function judgedSteps(plan: NormalizedPlan): number {
  return Math.max(1, plan.steps.filter((step) => step.share < 100).length);
}
