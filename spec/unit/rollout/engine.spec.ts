import { expect } from 'chai';
import { ConfigError } from '../../../middleware/errors.js';
import { RolloutEngine, emptyArm } from '../../../middleware/rollout/engine.js';
import { bucketOf } from '../../../middleware/rollout/histogram.js';
import { normalizePlan } from '../../../middleware/rollout/plan.js';
import { simulate } from '../../../middleware/rollout/simulator.js';

const base = { errorRate: 0.01, medianMs: 20, sigma: 0.5 };
const plan = { canary: { label: { version: 'v2' } }, steps: [{ share: 5, bakeMs: 60_000 }, { share: 50, bakeMs: 60_000 }, { share: 100 }] };

function second(canary: number, canaryErrors: number, baseline: number, baselineErrors: number) {
  const s = { canary: emptyArm(), baseline: emptyArm() };
  Object.assign(s.canary, { requests: canary, errors: canaryErrors });
  Object.assign(s.baseline, { requests: baseline, errors: baselineErrors });
  s.canary.buckets[bucketOf(20)] = canary;
  s.baseline.buckets[bucketOf(20)] = baseline;
  return s;
}

describe('rollout plan and step machine', () => {
  it('validates plans with the option path', () => {
    expect(() => normalizePlan({ ...plan, steps: [{ share: 50 }, { share: 5 }] })).to.throw(ConfigError, 'rollout.steps[1].share: expected more than the previous step\'s 50');
    expect(() => normalizePlan({ ...plan, analysis: { confidnce: 0.9 } })).to.throw(ConfigError, 'rollout.analysis.confidnce: unknown option. Did you mean "confidence"?');
    expect(() => normalizePlan({ ...plan, cohort: { key: 'cookie' } })).to.throw(ConfigError, 'rollout.cohort.key');
    expect(() => normalizePlan({ ...plan, canary: {} })).to.throw(ConfigError, 'rollout.canary: expected exactly one of label or ids');
    expect(normalizePlan(plan).plan.steps.map((s) => s.bakeMs)).to.deep.equal([60_000, 60_000, 0]);
  });

  it('steps through the plan as bakes pass, and completes at 100 %', () => {
    const { engine, transition } = RolloutEngine.start(normalizePlan(plan).plan, 0);
    expect(transition.type).to.equal('start');
    const types: string[] = [];
    for (let s = 1; s <= 130 && !engine.finished; s++) {
      const t = engine.tick(s * 1000, second(engine.share === 5 ? 10 : 100, 0, engine.share === 5 ? 190 : 100, 1));
      if (t) types.push(`${t.type}@${s}`);
    }
    expect(types).to.deep.equal(['step@60', 'complete@120']);
    expect(engine.share).to.equal(100);
  });

  it('a pause freezes the bake clock; the judge still aborts a bad canary while paused', () => {
    const { engine } = RolloutEngine.start(normalizePlan(plan).plan, 0);
    engine.tick(1000, second(10, 0, 190, 1));
    engine.pause(1000);
    expect(engine.bakeLeft(30_000)).to.equal(59_000);
    engine.resume(31_000);
    expect(engine.bakeLeft(31_000)).to.equal(59_000);
    engine.pause(31_000);
    const abort = engine.tick(32_000, second(10, 10, 190, 0));
    expect(abort?.type).to.equal('abort');
    expect(abort?.verdict?.rule).to.equal('guardrail');
    expect(engine.share).to.equal(0);
  });

  it('too little traffic is never a silent pass: extend, then pause', () => {
    const { engine } = RolloutEngine.start(normalizePlan({ ...plan, analysis: { maxExtensions: 1 } }).plan, 0);
    const types: string[] = [];
    for (let s = 1; s <= 200 && engine.status === 'running'; s++) {
      const t = engine.tick(s * 1000, second(1, 0, 19, 0));
      if (t) types.push(`${t.type}@${s}`);
    }
    expect(types).to.deep.equal(['extend@60', 'pause@120']);
    expect(engine.state.reason).to.equal('only 120 canary requests in the bake, 200 needed; paused for a decision');
  });

  it("onInsufficient: 'promote' moves on, saying so", () => {
    const { engine } = RolloutEngine.start(normalizePlan({ ...plan, analysis: { onInsufficient: 'promote' } }).plan, 0);
    let t;
    for (let s = 1; s <= 60; s++) t = engine.tick(s * 1000, second(1, 0, 19, 0)) ?? t;
    expect(t?.type).to.equal('step');
    expect(t?.verdict?.kind).to.equal('insufficient');
  });

  it('the engine state round-trips through JSON and goes on where it was', () => {
    const { engine } = RolloutEngine.start(normalizePlan(plan).plan, 0);
    for (let s = 1; s <= 30; s++) engine.tick(s * 1000, second(10, 0, 190, 2));
    const copy = new RolloutEngine(normalizePlan(plan).plan, JSON.parse(JSON.stringify(engine.state)));
    expect(copy.window()).to.deep.equal(engine.window());
    expect(copy.bakeLeft(30_000)).to.equal(30_000);
    const t = copy.tick(60_000, second(10, 0, 190, 2));
    expect(t?.type).to.equal('step');
  });

  it('the simulator is deterministic and rolls back a 10x error canary within a minute', () => {
    const scenario = { seed: 42, rps: 100, baseline: base, canary: { ...base, errorRate: 0.1 }, plan };
    const a = simulate(scenario);
    const b = simulate(scenario);
    expect(a).to.deep.equal(b);
    expect(a.status).to.equal('aborted');
    expect(a.seconds).to.be.at.most(60);
    expect(simulate({ ...scenario, canary: base }).status).to.equal('completed');
  });
});
