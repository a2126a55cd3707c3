import { bucketOf } from './histogram.js';
import { RolloutEngine, emptyArm, type Second, type Transition } from './engine.js';
import { normalizePlan, type RolloutPlan } from './plan.js';

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same traffic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Poisson by inversion for small means, a rounded normal for large ones. */
function poisson(random: () => number, mean: number): number {
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface ArmBehaviour {
  /** Probability that a request fails. */
  errorRate: number;
  /** Median latency; latencies are log-normal around it. */
  medianMs: number;
  /** The log-normal's sigma (0.5: p99 ≈ 3.2 × median). */
  sigma: number;
}

export interface Scenario {
  seed: number;
  /** Pool traffic, requests per second (Poisson). */
  rps: number;
  baseline: ArmBehaviour;
  canary: ArmBehaviour;
  plan: RolloutPlan;
  /** Give up after this many simulated seconds. Default: the plan's bakes × 4 + 60. */
  maxSeconds?: number;
}

export interface SimulationResult {
  status: 'running' | 'paused' | 'aborted' | 'completed';
  /** Simulated seconds to the final transition (abort or completion), or to the give-up. */
  seconds: number;
  transitions: Array<Transition & { second: number }>;
}

/**
 * Drive the real step machine and judge with synthetic traffic, one simulated second at a time:
 * each request goes to the canary with the step's share, fails with its arm's error rate and
 * takes a log-normal latency. No backends, no timers, deterministic by seed.
 */
export function simulate(scenario: Scenario): SimulationResult {
  const random = seededRandom(scenario.seed);
  const { plan } = normalizePlan(scenario.plan, 'scenario.plan');
  const t0 = 0;
  const started = RolloutEngine.start(plan, t0);
  const engine = started.engine;
  const transitions: SimulationResult['transitions'] = [{ ...started.transition, second: 0 }];
  const bakes = plan.steps.reduce((sum, step) => sum + step.bakeMs, 0) / 1000;
  const maxSeconds = scenario.maxSeconds ?? bakes * (plan.analysis.maxExtensions + 1) + 60;
  let second = 0;
  while (!engine.finished && engine.status !== 'paused' && second < maxSeconds) {
    second++;
    const traffic: Second = { canary: emptyArm(), baseline: emptyArm() };
    const share = engine.share / 100;
    const n = poisson(random, scenario.rps);
    for (let i = 0; i < n; i++) {
      const toCanary = random() < share;
      const arm = toCanary ? traffic.canary : traffic.baseline;
      const behaviour = toCanary ? scenario.canary : scenario.baseline;
      arm.requests++;
      if (random() < behaviour.errorRate) arm.errors++;
      const ms = behaviour.medianMs * Math.exp(behaviour.sigma * gaussian(random));
      arm.buckets[bucketOf(ms)]!++;
    }
    const transition = engine.tick(t0 + second * 1000, traffic);
    if (transition) transitions.push({ ...transition, second });
  }
  return { status: engine.status, seconds: second, transitions };
}
