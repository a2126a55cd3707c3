import { simulate, type ArmBehaviour, type Scenario, type SimulationResult } from '../middleware/rollout/simulator.js';
import type { RolloutPlan } from '../middleware/rollout/plan.js';

/**
 * Rollout judgement on simulated traffic (no backends): how fast a bad canary is rolled back,
 * how often a good one is, and whether a slow one is caught by the end of its step.
 * `npm run bench:rollout`; ROLLOUTS=n sets the false-abort run's size (default 1000).
 */
const BASE: ArmBehaviour = { errorRate: 0.01, medianMs: 20, sigma: 0.5 };
const PLAN: RolloutPlan = {
  canary: { label: { version: 'v2' } },
  steps: [{ share: 5, bakeMs: 120_000 }, { share: 25, bakeMs: 60_000 }, { share: 50, bakeMs: 60_000 }, { share: 100 }],
  analysis: { maxErrorRate: 0.05, minRequests: 200, confidence: 0.99, p99Ratio: 1.5 },
};

function run(count: number, make: (seed: number) => Scenario): SimulationResult[] {
  const results: SimulationResult[] = [];
  for (let seed = 1; seed <= count; seed++) results.push(simulate(make(seed)));
  return results;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function abortTimes(results: SimulationResult[]): { median: number; p95: number; max: number; aborted: number; rules: string } {
  const aborted = results.filter((r) => r.status === 'aborted');
  const times = aborted.map((r) => r.seconds);
  const rules = new Map<string, number>();
  for (const r of aborted) {
    const rule = r.transitions.at(-1)?.verdict?.rule ?? 'none';
    rules.set(rule, (rules.get(rule) ?? 0) + 1);
  }
  return { median: quantile(times, 0.5), p95: quantile(times, 0.95), max: Math.max(...times), aborted: aborted.length, rules: [...rules].map(([k, v]) => `${k} ${v}`).join(', ') };
}

const rollouts = Number(process.env.ROLLOUTS ?? 1000);
const lines: string[] = [];
const started = Date.now();

const errors = run(200, (seed) => ({ seed, rps: 100, baseline: BASE, canary: { ...BASE, errorRate: 0.1 }, plan: PLAN }));
const e = abortTimes(errors);
lines.push(`10x errors (1% vs 10%), 5% share, 100 rps: aborted ${e.aborted}/200, time to abort median ${e.median} s, p95 ${e.p95} s, max ${e.max} s (${e.rules})`);

const crash = run(200, (seed) => ({ seed, rps: 100, baseline: BASE, canary: { ...BASE, errorRate: 1 }, plan: PLAN }));
const c = abortTimes(crash);
lines.push(`canary failing every request, 5% share, 100 rps: aborted ${c.aborted}/200, median ${c.median} s, p95 ${c.p95} s, max ${c.max} s (${c.rules})`);

const same = run(rollouts, (seed) => ({ seed: 10_000 + seed, rps: 100, baseline: BASE, canary: BASE, plan: PLAN }));
const falseAborts = same.filter((r) => r.status === 'aborted');
const completed = same.filter((r) => r.status === 'completed').length;
lines.push(`identical canary, ${rollouts} rollouts of 4 min each: ${falseAborts.length} false aborts (${((100 * falseAborts.length) / rollouts).toFixed(1)}%), ${completed} completed${falseAborts.length ? ` (${abortTimes(falseAborts).rules})` : ''}`);

const slow = run(200, (seed) => ({ seed: 20_000 + seed, rps: 100, baseline: BASE, canary: { ...BASE, medianMs: BASE.medianMs * 2 }, plan: PLAN }));
const s = abortTimes(slow);
const byStepEnd = slow.filter((r) => r.status === 'aborted' && r.seconds <= 120).length;
lines.push(`2x latency (p99 ${Math.round(BASE.medianMs * Math.exp(0.5 * 2.326))} → ${Math.round(2 * BASE.medianMs * Math.exp(0.5 * 2.326))} ms), 5% share, 100 rps: caught by the end of its 120 s step in ${byStepEnd}/200, aborted ${s.aborted}/200 (${s.rules})`);

const low = run(100, (seed) => ({ seed: 30_000 + seed, rps: 2, baseline: BASE, canary: BASE, plan: PLAN }));
const lowPaused = low.filter((r) => r.status === 'paused').length;
lines.push(`too little traffic (2 rps, 5% share): paused as insufficient in ${lowPaused}/100, promoted silently in ${low.filter((r) => r.status === 'completed').length}/100`);

for (const line of lines) process.stdout.write(`${line}\n`);
process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(1)} s of CPU time)\n`);
