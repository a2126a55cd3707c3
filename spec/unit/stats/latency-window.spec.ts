import { expect } from 'chai';
import { LatencyWindow } from '../../../middleware/stats/latency-window.js';
import { RateWindow } from '../../../middleware/stats/rate-window.js';

describe('stats windows', () => {
  it('gives percentiles within the bucket precision (10%)', () => {
    const window = new LatencyWindow();
    const now = 1_000_000;
    for (let ms = 1; ms <= 1000; ms++) window.record(ms, now);
    const { p50, p95, p99 } = window.percentiles(now);
    expect(p50).to.be.within(450, 550);
    expect(p95).to.be.within(900, 1045);
    expect(p99).to.be.within(940, 1090);
  });

  it('forgets samples older than the one-minute window', () => {
    const window = new LatencyWindow();
    window.record(500, 0);
    expect(window.percentiles(30_000).p50).to.not.equal(null);
    expect(window.percentiles(70_000).p50).to.equal(null);
  });

  it('keeps a cumulative Prometheus histogram', () => {
    const window = new LatencyWindow();
    for (const ms of [3, 7, 40, 40, 2000, 20000]) window.record(ms);
    const { bounds, counts, count, sumSeconds } = window.histogram();
    expect(count).to.equal(6);
    expect(sumSeconds).to.be.closeTo(22.09, 0.001);
    expect(counts[bounds.indexOf(0.005)]).to.equal(1);
    expect(counts[bounds.indexOf(0.05)]).to.equal(4);
    expect(counts[bounds.indexOf(10)]).to.equal(5); // the 20 s one only in +Inf (count)
  });

  it('counts requests per second over the last ten whole seconds', () => {
    const rate = new RateWindow();
    const start = 5_000_000;
    for (let s = 0; s < 10; s++) for (let i = 0; i < 20; i++) rate.record(start + s * 1000 + i);
    expect(rate.perSecond(start + 10_500)).to.equal(20);
    expect(rate.perSecond(start + 30_000)).to.equal(0);
  });
});
