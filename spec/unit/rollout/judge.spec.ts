import { expect } from 'chai';
import { bucketOf, emptyBuckets, quantileOf } from '../../../middleware/rollout/histogram.js';
import { canaryWorse, eValueOf, newErrorTest, observeSecond } from '../../../middleware/rollout/judge/errors.js';
import { guardrailTripped } from '../../../middleware/rollout/judge/guardrail.js';
import { judgeBake, judgeContinuous, type ArmWindow } from '../../../middleware/rollout/judge/index.js';
import { boundedQuantileRatio, mannWhitneySlower } from '../../../middleware/rollout/judge/latency.js';
import { upperQuantile, upperTail } from '../../../middleware/rollout/judge/normal.js';
import { ANALYSIS_DEFAULTS } from '../../../middleware/rollout/plan.js';
import { seededRandom } from '../../../middleware/rollout/simulator.js';

function arm(requests: number, errors: number, latencies: number[] = []): ArmWindow {
  const buckets = emptyBuckets();
  for (const ms of latencies) buckets[bucketOf(ms)]!++;
  return { requests, errors, buckets };
}

function lognormal(random: () => number, count: number, median: number, sigma = 0.5): number[] {
  return Array.from({ length: count }, () => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
}

describe('rollout judge', () => {
  describe('normal tail', () => {
    it('matches known quantiles', () => {
      expect(upperTail(0)).to.be.closeTo(0.5, 1e-7);
      expect(upperTail(1.959964)).to.be.closeTo(0.025, 1e-6);
      expect(upperQuantile(0.01)).to.be.closeTo(2.326, 1e-3);
    });
  });

  describe('guardrail', () => {
    it('trips on a canary failing every request once it has the minimum count', () => {
      expect(guardrailTripped(9, 9, 0.05, 10, 0.01)).to.equal(false);
      expect(guardrailTripped(10, 10, 0.05, 10, 0.01)).to.equal(true);
    });

    it('does not trip on one unlucky error among a few requests, or at the limit', () => {
      expect(guardrailTripped(10, 1, 0.05, 10, 0.01)).to.equal(false);
      expect(guardrailTripped(1000, 50, 0.05, 10, 0.01)).to.equal(false);
      expect(guardrailTripped(1000, 90, 0.05, 10, 0.01)).to.equal(true);
    });
  });

  describe('sequential error test', () => {
    it('uses the measured share: errors in proportion to traffic are no evidence', () => {
      const test = newErrorTest(1.5);
      // 5 % of requests and 5 % of the errors: the canary is no worse
      for (let s = 0; s < 600; s++) observeSecond(test, { canaryRequests: 5, canaryErrors: s % 20 === 0 ? 1 : 0, baselineRequests: 95, baselineErrors: 1 });
      expect(canaryWorse(test, 0.01)).to.equal(false);
      expect(eValueOf(test)).to.be.below(1);
    });

    it('finds a canary with 10x the errors within a minute at 5 % share and 100 rps', () => {
      const random = seededRandom(7);
      const test = newErrorTest(1.5);
      let seconds = 0;
      while (!canaryWorse(test, 0.01) && seconds < 600) {
        seconds++;
        let ce = 0;
        let be = 0;
        for (let i = 0; i < 5; i++) if (random() < 0.1) ce++;
        for (let i = 0; i < 95; i++) if (random() < 0.01) be++;
        observeSecond(test, { canaryRequests: 5, canaryErrors: ce, baselineRequests: 95, baselineErrors: be });
      }
      expect(seconds).to.be.within(1, 60);
    });

    it('keeps false alarms of an identical canary below alpha when checked every second', () => {
      let alarms = 0;
      for (let seed = 1; seed <= 300; seed++) {
        const random = seededRandom(seed);
        const test = newErrorTest(1);
        for (let s = 0; s < 300; s++) {
          let ce = 0;
          let be = 0;
          for (let i = 0; i < 10; i++) if (random() < 0.02) ce++;
          for (let i = 0; i < 90; i++) if (random() < 0.02) be++;
          observeSecond(test, { canaryRequests: 10, canaryErrors: ce, baselineRequests: 90, baselineErrors: be });
          if (canaryWorse(test, 0.05)) {
            alarms++;
            break;
          }
        }
      }
      // a fixed-sample test looked at 300 times would alarm far more often than 5 %
      expect(alarms / 300).to.be.at.most(0.05);
    });

    it('says why, with rates, count and confidence', () => {
      const test = newErrorTest(1.5);
      for (let s = 0; s < 60; s++) observeSecond(test, { canaryRequests: 20, canaryErrors: 1, baselineRequests: 980, baselineErrors: 3 });
      const verdict = judgeContinuous({ recent: { requests: 200, errors: 10 }, canary: arm(1204, 49), baseline: arm(58_000, 174), test, analysis: ANALYSIS_DEFAULTS, alpha: 0.01 });
      expect(verdict?.kind).to.equal('fail');
      expect(verdict?.rule).to.equal('errors');
      expect(verdict?.reason).to.equal('canary 4.1% errors vs 0.30%, 1,204 requests, 99% confidence');
    });
  });

  describe('latency', () => {
    it('Mann-Whitney on buckets: small p for a slower canary, large for the same distribution', () => {
      const random = seededRandom(3);
      const base = arm(2000, 0, lognormal(random, 2000, 20)).buckets;
      const same = arm(300, 0, lognormal(random, 300, 20)).buckets;
      const slow = arm(300, 0, lognormal(random, 300, 30)).buckets;
      expect(mannWhitneySlower(slow, base)).to.be.below(0.001);
      expect(mannWhitneySlower(same, base)).to.be.above(0.01);
    });

    it('bounds the p99 ratio: 2x over 2,000 requests is seen as more than 1.5x, the same as less, too few values as unknown', () => {
      const random = seededRandom(5);
      const base = arm(5000, 0, lognormal(random, 5000, 20)).buckets;
      const doubled = arm(2000, 0, lognormal(random, 2000, 40)).buckets;
      const same = arm(600, 0, lognormal(random, 600, 20)).buckets;
      expect(boundedQuantileRatio(doubled, base, 0.99, 0.01)).to.be.above(1.5);
      expect(boundedQuantileRatio(same, base, 0.99, 0.01)).to.be.below(1.2);
      expect(boundedQuantileRatio(arm(50, 0, lognormal(random, 50, 40)).buckets, base, 0.99, 0.01)).to.equal(undefined);
      expect(quantileOf(base, 0.5)).to.be.closeTo(20, 2);
    });

    it('fails a slow canary at the end of a bake, passes a good one, and calls too little traffic insufficient', () => {
      const random = seededRandom(11);
      const baseline = arm(5000, 20, lognormal(random, 5000, 20));
      const test = newErrorTest(1.5);
      const slow = judgeBake({ canary: arm(600, 2, lognormal(random, 600, 40)), baseline, test, analysis: ANALYSIS_DEFAULTS, alpha: 0.01 });
      expect(slow.kind).to.equal('fail');
      expect(slow.rule).to.equal('latency');
      expect(slow.reason).to.match(/^canary (p99 [\d.]+ ms vs [\d.]+ ms: at least \d\.\d\dx with 99% confidence, limit 1\.5x|slower: p50 [\d.]+ ms vs [\d.]+ ms, .*Mann-Whitney p = .*)$/);
      const good = judgeBake({ canary: arm(600, 2, lognormal(random, 600, 20)), baseline, test, analysis: ANALYSIS_DEFAULTS, alpha: 0.01 });
      expect(good.kind).to.equal('pass');
      const few = judgeBake({ canary: arm(37, 0, lognormal(random, 37, 20)), baseline, test, analysis: ANALYSIS_DEFAULTS, alpha: 0.01 });
      expect(few.kind).to.equal('insufficient');
      expect(few.reason).to.equal('only 37 canary requests in the bake, 200 needed');
    });
  });
});
