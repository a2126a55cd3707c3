import { expect } from 'chai';
import request from 'supertest';
import { createBalancer, type Balancer, type RolloutPlan, type RolloutSnapshot } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import type { Dashboard } from '../../dashboard/index.js';
import { mountDashboard, type DashboardHost } from '../support/dashboard-host.js';
import type { TrafficPreview } from '../../middleware/rollout/preview.js';
import { listen, startBackend, type Backend } from '../support/backends.js';
import { drive, modalHandler, modes, newUsers } from '../support/rollout-traffic.js';
import { waitFor } from '../support/wait.js';

describe('dashboard rollout API', function () {
  this.timeout(20_000);
  let backends: Backend[];
  let balancer: Balancer;
  let dashboard: Dashboard;
  let host: Awaited<ReturnType<typeof listen>>;
  let token: string;
  let mounted: DashboardHost;

  before(async () => {
    backends = await Promise.all(['b1', 'b2', 'c1'].map((id) => startBackend(id, modalHandler)));
  });

  after(() => Promise.all(backends.map((b) => b.close())));

  beforeEach(async () => {
    modes.clear();
    balancer = createBalancer({
      logger: silentLogger,
      pools: {
        api: { sticky: true, drainTimeoutMs: 200, servers: backends.map((b) => ({ id: b.id, url: b.url, labels: { version: b.id.startsWith('c') ? 'v2' : 'v1' } })) },
        web: { servers: [{ id: 'w1', url: backends[0]!.url }] },
      },
      routes: [{ path: '/api', pool: 'api' }],
      sticky: { secret: 'dashboard-rollout-secret-0123456789' },
    });
    mounted = await mountDashboard(balancer);
    ({ dashboard, host, token } = mounted);
  });

  afterEach(async () => {
    await mounted.close();
    await balancer.close();
  });

  const api = () => mounted.api();
  const get = (path: string) => api().get(`/admin/api/${path}`);
  const post = (path: string, body?: object) => api().post(`/admin/api/${path}`).set('x-csrf-token', token).send(body ?? {});
  const plan = (extra: Partial<RolloutPlan> = {}): RolloutPlan => ({
    canary: { label: { version: 'v2' } },
    steps: [{ share: 20, bakeMs: 60_000 }, { share: 50 }, { share: 100 }],
    analysis: { minRequests: 30 },
    final: 'keep',
    ...extra,
  });
  const start = async (extra: Partial<RolloutPlan> = {}): Promise<RolloutSnapshot> => (await post('pools/api/rollout', plan(extra)).expect(201)).body as RolloutSnapshot;
  /** Everything an operator could change, minus what traffic moves. */
  const state = () => JSON.stringify({ records: balancer.pool('api').records(), rollout: balancer.pool('api').currentRollout()?.snapshot().status ?? null, share: balancer.pool('api').currentRollout()?.snapshot().share ?? null, audit: balancer.audit.seq });
  const rolloutEntries = () => balancer.audit.recent().filter((entry) => entry.action === 'rollout');

  it('GET …/rollout answers 404 without a rollout (and for an unknown pool); api/rollouts says null', async () => {
    expect((await get('pools/api/rollout').expect(404)).body).to.deep.equal({ error: 'pool "api" has no rollout', status: 404 });
    expect((await get('pools/nope/rollout').expect(404)).body.error).to.equal('no pool "nope"');
    expect((await get('rollouts').expect(200)).body.pools).to.deep.equal({ api: null, web: null });
  });

  it('starts a rollout: 201 with the snapshot, GET answers it, the operator is the audited actor; a second start is 409', async () => {
    const started = await start();
    expect(started).to.include({ pool: 'api', status: 'running', step: 0, share: 20, startedBy: 'ops' });
    expect(started.canary.servers).to.deep.equal(['c1']);
    expect(started.baseline.servers).to.deep.equal(['b1', 'b2']);
    const { body } = await get('pools/api/rollout').expect(200);
    expect(body).to.include({ id: started.id, status: 'running' });
    expect(rolloutEntries()[0]).to.include({ user: 'ops', address: '127.0.0.1', pool: 'api' });
    expect(rolloutEntries()[0]!.after).to.include({ rollout: started.id, event: 'start' });
    const conflict = await post('pools/api/rollout', plan()).expect(409);
    expect(conflict.body.error).to.match(new RegExp(`already has rollout ${started.id} \\(running\\)`));
    // `{ plan }` is taken as well as the bare plan
    await post('pools/api/rollout', { plan: plan() }).expect(409);
  });

  it('refuses state changes without the CSRF token (403) and changes nothing', async () => {
    const before = state();
    for (const path of ['pools/api/rollout', 'pools/api/rollout/preview']) {
      const res = await api().post(`/admin/api/${path}`).send(plan()).expect(403);
      expect(res.body.error).to.match(/CSRF/);
      await api().post(`/admin/api/${path}`).set('x-csrf-token', 'forged').send(plan()).expect(403);
    }
    expect(balancer.pool('api').currentRollout()).to.equal(undefined);
    await start();
    const running = state();
    for (const op of ['pause', 'resume', 'promote', 'abort']) await api().post(`/admin/api/pools/api/rollout/${op}`).send({}).expect(403);
    expect(state()).to.equal(running);
    expect(before).to.not.equal(running);
    // and without credentials: 401 before anything else
    await request(host.url).post('/admin/api/pools/api/rollout/abort').set('x-csrf-token', token).send({}).expect(401);
  });

  it('answers 400 for an invalid plan with the core’s message, 404 for an unknown pool or canary, and starts nothing', async () => {
    const before = state();
    const cases: Array<[object, RegExp]> = [
      [{ ...plan(), steps: [{ share: 50 }, { share: 20 }] }, /^rollout\.steps\[1\]\.share: expected more than the previous step's 50: cohorts only grow$/],
      [{ ...plan(), steps: [] }, /^rollout\.steps: expected a non-empty array/],
      [{ ...plan(), canary: { label: { version: 'v2' }, ids: ['c1'] } }, /^rollout\.canary: expected exactly one of label or ids/],
      [{ ...plan(), surprise: true }, /surprise/],
      [{ ...plan(), analysis: { confidence: 2 } }, /^rollout\.analysis\.confidence/],
    ];
    for (const [body, message] of cases) {
      const res = await post('pools/api/rollout', body).expect(400);
      expect(res.body.error).to.match(message);
    }
    await api().post('/admin/api/pools/api/rollout').set('x-csrf-token', token).type('json').send('{"canary":').expect(400);
    expect((await post('pools/api/rollout', plan({ canary: { label: { version: 'v9' } } })).expect(404)).body.error).to.match(/no server of pool "api" matches the canary/);
    expect((await post('pools/nope/rollout', plan()).expect(404)).body.error).to.equal('no pool "nope"');
    expect(state()).to.equal(before);
  });

  it('pause, resume, promote: each answers the snapshot after; a finished rollout answers 409 to all four', async () => {
    await start();
    const paused = (await post('pools/api/rollout/pause').expect(200)).body as RolloutSnapshot;
    expect(paused.status).to.equal('paused');
    expect(paused.reason).to.equal('paused by ops');
    const frozen = paused.bakeLeftMs;
    expect(((await post('pools/api/rollout/resume').expect(200)).body as RolloutSnapshot).status).to.equal('running');
    expect(frozen).to.be.within(50_000, 60_000);
    const promoted = (await post('pools/api/rollout/promote').expect(200)).body as RolloutSnapshot;
    expect(promoted).to.include({ status: 'completed', share: 100, reason: 'promoted by ops' });
    for (const op of ['pause', 'resume', 'promote', 'abort']) {
      const res = await post(`pools/api/rollout/${op}`).expect(409);
      expect(res.body.error).to.match(/is already completed/);
    }
    expect(rolloutEntries().map((entry) => `${(entry.after as { event: string }).event}:${entry.user}`).reverse()).to.deep.equal(['start:ops', 'pause:ops', 'resume:ops', 'promote:ops']);
    // keep: both arms stay in the pool
    expect(balancer.pool('api').records().map((r) => r.id)).to.deep.equal(['b1', 'b2', 'c1']);
  });

  it('abort takes an optional reason, disables the canary, and a second abort is 409', async () => {
    await start();
    await post('pools/api/rollout/abort', { reason: 42 }).expect(400);
    expect(balancer.pool('api').currentRollout()!.status).to.equal('running');
    const aborted = (await post('pools/api/rollout/abort', { reason: 'bad deploy: checkout broken' }).expect(200)).body as RolloutSnapshot;
    expect(aborted).to.include({ status: 'aborted', reason: 'bad deploy: checkout broken', share: 0 });
    await waitFor('the canary disabled', () => balancer.pool('api').records().find((r) => r.id === 'c1')!.admin === 'disabled');
    expect((await post('pools/api/rollout/abort').expect(409)).body.error).to.match(/is already aborted/);
    const view = (await get('rollouts').expect(200)).body.pools.api;
    expect(view.status).to.equal('aborted');
    expect(view.cells.decision).to.equal('aborted: bad deploy: checkout broken');
    expect(view.can).to.deep.equal({ pause: false, resume: false, promote: false, abort: false });
  });

  it('operations without a rollout are 404', async () => {
    for (const op of ['pause', 'resume', 'promote', 'abort']) expect((await post(`pools/api/rollout/${op}`).expect(404)).body.error).to.equal('pool "api" has no rollout');
    await post('pools/nope/rollout/pause').expect(404);
  });

  describe('preview', () => {
    const sum = (preview: TrafficPreview) => preview.servers.reduce((total, row) => total + row.share, 0);
    const byId = (preview: TrafficPreview) => Object.fromEntries(preview.servers.map((row) => [row.id, `${row.arm} ${row.share}`]));

    it('{ plan, step }: the split of that step by effective weights, changing nothing', async () => {
      await balancer.pool('api').setWeight('b1', 3);
      const before = state();
      const first = (await post('pools/api/rollout/preview', { plan: plan(), step: 0 }).expect(200)).body as TrafficPreview & { canary: string[] };
      expect(byId(first)).to.deep.equal({ b1: 'baseline 60', b2: 'baseline 20', c1: 'canary 20' });
      expect(first.canary).to.deep.equal(['c1']);
      expect(sum(first)).to.be.closeTo(100, 0.02);
      const second = (await post('pools/api/rollout/preview', { plan: plan(), step: 1 }).expect(200)).body as TrafficPreview;
      expect(byId(second)).to.deep.equal({ b1: 'baseline 37.5', b2: 'baseline 12.5', c1: 'canary 50' });
      expect(state()).to.equal(before);
      expect(balancer.pool('api').currentRollout()).to.equal(undefined);
      expect(balancer.snapshot().pools.api!.rollout).to.equal(undefined);
    });

    it('{ canary, share } and, while a rollout runs, { share } alone; nothing changes', async () => {
      const byIds = (await post('pools/api/rollout/preview', { canary: { ids: ['b2'] }, share: 10 }).expect(200)).body as TrafficPreview;
      expect(byId(byIds)).to.deep.equal({ b1: 'baseline 45', b2: 'canary 10', c1: 'baseline 45' });
      await start();
      const before = state();
      const running = (await post('pools/api/rollout/preview', { share: 75 }).expect(200)).body as TrafficPreview;
      expect(byId(running)).to.deep.equal({ b1: 'baseline 12.5', b2: 'baseline 12.5', c1: 'canary 75' });
      expect(state()).to.equal(before);
      expect(balancer.pool('api').currentRollout()!.snapshot().share).to.equal(20);
    });

    it('answers 400 for a bad step, share or plan, and 404 when nothing matches the canary', async () => {
      const before = state();
      expect((await post('pools/api/rollout/preview', { plan: plan(), step: 3 }).expect(400)).body.error).to.equal('step: expected a step index from 0 to 2, got 3');
      expect((await post('pools/api/rollout/preview', { plan: plan(), step: '1' }).expect(400)).body.error).to.match(/^step: /);
      expect((await post('pools/api/rollout/preview', { plan: { ...plan(), steps: [{ share: 0 }] } }).expect(400)).body.error).to.match(/^plan\.steps\[0\]\.share: expected a number/);
      expect((await post('pools/api/rollout/preview', { share: 10 }).expect(400)).body.error).to.match(/^canary: .*no rollout runs in this pool/);
      expect((await post('pools/api/rollout/preview', { canary: { ids: ['c1'] }, share: 101 }).expect(400)).body.error).to.match(/^share: expected a number from 0.01 to 100/);
      expect((await post('pools/api/rollout/preview', { canary: { label: {} }, share: 5 }).expect(400)).body.error).to.match(/^plan\.canary\.label/);
      expect((await post('pools/api/rollout/preview', { canary: { label: { version: 'v9' } }, share: 5 }).expect(404)).body.error).to.match(/matches the canary/);
      await post('pools/nope/rollout/preview', { share: 5 }).expect(404);
      expect(state()).to.equal(before);
    });

    it('a disabled server gets nothing; a canary with no eligible server sends its part over the pool', async () => {
      await balancer.pool('api').disable('c1');
      const preview = (await post('pools/api/rollout/preview', { plan: plan(), step: 0 }).expect(200)).body as TrafficPreview;
      expect(byId(preview)).to.deep.equal({ b1: 'baseline 50', b2: 'baseline 50', c1: 'canary 0' });
      expect(preview.note).to.match(/no eligible canary server/);
    });
  });

  it('the page’s forms work without scripts: urlencoded with the _csrf field, answered with a redirect back', async () => {
    const form = (path: string, fields: Record<string, string>) => api().post(`/admin/api/${path}`).type('form').set('accept', 'text/html').send(fields);
    await form('pools/api/rollout', { plan: JSON.stringify(plan()) }).expect(403);
    await form('pools/api/rollout', { _csrf: token, plan: JSON.stringify(plan()) }).expect(303).expect('location', '../../../');
    expect(balancer.pool('api').currentRollout()!.status).to.equal('running');
    await form('pools/api/rollout/pause', { _csrf: token }).expect(303).expect('location', '../../../../');
    expect(balancer.pool('api').currentRollout()!.status).to.equal('paused');
    await form('pools/api/rollout/abort', { _csrf: token, reason: 'from the form' }).expect(303);
    expect(balancer.pool('api').currentRollout()!.snapshot().reason).to.equal('from the form');
    expect((await form('pools/web/rollout', { _csrf: token, plan: '{not json' }).expect(400)).body.error).to.match(/^plan: expected JSON/);
  });

  it('shows live numbers under real traffic: per-arm requests, the panel view and the server-rendered page', async () => {
    const traffic = drive(host.url, newUsers(40));
    try {
      await start({ cohort: { key: 'session' } });
      await waitFor('both arms counted', async () => {
        const { body } = await get('pools/api/rollout');
        return body.canary.window.requests > 0 && body.baseline.window.requests > 0;
      }, 8000, 200);
      const view = (await get('rollouts').expect(200)).body.pools.api;
      expect(view.cells.headline).to.equal('running · step 1 of 3 · 20% to the canary');
      expect(view.steps.map((s: { state: string }) => s.state)).to.deep.equal(['current', 'next', 'next']);
      expect(view.arms.canary.requests).to.match(/^[1-9][\d,]*$/);
      expect(view.arms.baseline.p50).to.match(/ms$/);
      const page = await api().get('/admin/').expect(200);
      expect(page.text).to.contain('data-rollout="api" data-status="running"');
      expect(page.text).to.contain('running · step 1 of 3 · 20% to the canary');
      expect(page.text).to.match(/<li data-state="current" aria-current="step"><span>20%<\/span>/);
    } finally {
      await traffic.stop();
    }
  });

  it('a failing canary is aborted by the judge and the panel says why, with the judge’s figures', async () => {
    modes.set('c1', 'fail');
    const traffic = drive(host.url, newUsers(60));
    try {
      await start({ cohort: { key: 'session' }, steps: [{ share: 40, bakeMs: 20_000 }, { share: 100 }] });
      await waitFor('the judge aborts', async () => (await get('pools/api/rollout')).body.status === 'aborted', 10_000, 200);
    } finally {
      await traffic.stop();
    }
    const view = (await get('rollouts').expect(200)).body.pools.api;
    expect(view.cells.decision).to.match(/^aborted: canary 100(\.0)?% errors/);
    expect(rolloutEntries()[0]!.user).to.equal('rollout');
  });
});
