import { expect } from 'chai';
import { CHART_HEIGHT, rolloutView } from '../../../dashboard/rollout-view.js';
import { ANALYSIS_DEFAULTS } from '../../../middleware/rollout/plan.js';
import type { RolloutSnapshot } from '../../../middleware/rollout/rollout.js';

const arm = (requests: number, errors: number, p50Ms: number, p99Ms: number) => ({ requests, errors, errorRate: requests ? errors / requests : 0, p50Ms, p99Ms });

function snapshot(extra: Partial<RolloutSnapshot> = {}): RolloutSnapshot {
  return {
    id: 'r1', pool: 'api', status: 'running', finalStage: 'pending', step: 1,
    steps: [{ share: 5, bakeMs: 60_000 }, { share: 25, bakeMs: 90_000 }, { share: 100, bakeMs: 0 }],
    share: 25, measuredShare: 24.1, bakeLeftMs: 41_200, extensions: 0,
    canary: { servers: ['c1'], pinned: 12, window: arm(1204, 49, 2.1, 9.04) },
    baseline: { servers: ['b1', 'b2'], pinned: 40, window: arm(3800, 11, 2, 8.5) },
    eValue: 3.456, eThreshold: 200, reason: '', decision: null, cohort: 'session', analysis: ANALYSIS_DEFAULTS, final: 'promote',
    history: [], startedAt: Date.UTC(2026, 0, 1, 12, 0, 5), startedBy: 'ops', leader: true, leaderInstance: 'i-1',
    ...extra,
  };
}

describe('rollout panel view', () => {
  it('formats a running rollout as the judge formats its reasons', () => {
    const view = rolloutView(snapshot());
    expect(view.cells).to.deep.include({
      headline: 'running · step 2 of 3 · 25% to the canary', bakeLeft: '42 s left', measuredShare: '24.1% measured of 25%',
      eValue: '3.46', eThreshold: '200 (99% confidence)', decision: 'no verdict yet: the step is baking', started: 'by ops at 12:00:05 UTC · led by i-1',
      chartNote: 'the chart fills in every 5 s',
    });
    expect(view.arms.canary).to.deep.equal({ servers: 'c1', requests: '1,204', errorRate: '4.1% (49)', p50: '2.1 ms', p99: '9.0 ms', pinned: '12' });
    expect(view.arms.baseline.errorRate).to.equal('0.29% (11)');
    expect(view.steps).to.deep.equal([
      { share: '5%', bake: 'bakes 1 min', state: 'done' },
      { share: '25%', bake: 'bakes 1 min 30 s', state: 'current' },
      { share: '100%', bake: 'final', state: 'next' },
    ]);
    expect(view.can).to.deep.equal({ pause: true, resume: false, promote: true, abort: true });
  });

  it('says why it stopped, and offers no operation once finished', () => {
    const reason = 'canary 4.1% errors vs 0.29%, 1,204 requests, 99.5% confidence';
    const aborted = rolloutView(snapshot({ status: 'aborted', share: 0, reason, bakeLeftMs: 0 }));
    expect(aborted.cells.decision).to.equal(`aborted: ${reason}`);
    expect(aborted.cells.headline).to.equal('aborted · canary disabled');
    expect(aborted.cells.bakeLeft).to.equal('–');
    expect(aborted.can).to.deep.equal({ pause: false, resume: false, promote: false, abort: false });
    const paused = rolloutView(snapshot({ status: 'paused', reason: 'paused by ops', extensions: 2 }));
    expect(paused.cells.bakeLeft).to.equal('42 s left (paused), extended 2×');
    expect(paused.can).to.include({ pause: false, resume: true });
    const done = rolloutView(snapshot({ status: 'completed', step: 2, share: 100, finalStage: 'done', reason: 'promoted by ops' }));
    expect(done.steps.map((s) => s.state)).to.deep.equal(['done', 'done', 'done']);
    expect(done.cells.headline).to.equal('completed · baseline removed');
  });

  it('draws both arms on one scale over the history, with no data as empty arms', () => {
    const history = [0, 1, 2].map((i) => ({ at: 1000 + i * 5000, share: 25, canary: arm(100, i * 2, 2, 10 + i * 10), baseline: arm(300, 0, 2, 10) }));
    const view = rolloutView(snapshot({ history }));
    const ys = (points: string) => points.split(' ').map((point) => Number(point.split(',')[1]));
    expect(view.charts.errors.canary.split(' ')).to.have.length(3);
    expect(view.charts.errors.max).to.equal('4.0% errors');
    expect(ys(view.charts.errors.canary)).to.deep.equal([CHART_HEIGHT - 1, 20, 1]);
    expect(ys(view.charts.errors.baseline)).to.deep.equal([39, 39, 39]);
    expect(view.charts.p99.max).to.equal('30.0 ms p99');
    expect(view.cells.chartNote).to.equal('last 10 s');
    expect(rolloutView(snapshot({ canary: { servers: ['c1'], pinned: 0, window: arm(0, 0, NaN, NaN) } })).arms.canary).to.include({ requests: '0', errorRate: '–', p50: '–', p99: '–' });
  });
});
