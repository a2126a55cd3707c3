import { expect } from 'chai';
import http from 'node:http';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import type { AuditEntry } from '../../dashboard/audit.js';
import type { Dashboard } from '../../dashboard/index.js';
import { mountDashboard, type DashboardHost } from '../support/dashboard-host.js';
import { echo, listen, startBackends, type Backend } from '../support/backends.js';
import { waitFor } from '../support/wait.js';

describe('dashboard JSON API', () => {
  let backends: Backend[];
  let balancer: Balancer;
  let dashboard: Dashboard;
  let host: Awaited<ReturnType<typeof listen>>;
  let token: string;
  let mounted: DashboardHost;
  let audited: AuditEntry[];

  before(async () => {
    backends = await startBackends(2, 'a', (req, res, backend) => {
      // /api/hang?ms=N answers after N ms: a request in flight while a drain starts
      const ms = Number(new URL(req.url!, 'http://x').searchParams.get('ms'));
      if (ms > 0) return void setTimeout(() => echo(req, res, backend), ms);
      echo(req, res, backend);
    });
  });

  after(() => Promise.all(backends.map((b) => b.close())));

  beforeEach(async () => {
    balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { drainTimeoutMs: 3000, servers: backends.map((b) => ({ id: b.id, url: b.url })) }, web: { servers: [{ id: 'w1', url: backends[0]!.url }] } },
      routes: [{ path: '/api', pool: 'api' }],
    });
    audited = [];
    mounted = await mountDashboard(balancer, { auditSize: 5, onAudit: (entry) => audited.push(entry) });
    ({ dashboard, host, token } = mounted);
  });

  afterEach(async () => {
    await mounted.close();
    await balancer.close();
  });

  const api = () => mounted.api();
  const post = (path: string, body?: object) => api().post(`/admin/api/${path}`).set('x-csrf-token', token).send(body ?? {});
  const server = (id: string, pool = 'api') => balancer.pool(pool).snapshot().servers.find((s) => s.id === id);
  const unchanged = () => JSON.stringify(balancer.snapshot().pools, (key, value: unknown) => (['rps', 'latencyMs', 'latency'].includes(key) ? undefined : value));

  it('GET api/pools answers the balancer snapshot', async () => {
    const { body } = await api().get('/admin/api/pools').expect(200).expect('content-type', /application\/json/);
    expect(Object.keys(body.pools)).to.deep.equal(['api', 'web']);
    expect(body.pools.api.servers.map((s: { id: string }) => s.id)).to.deep.equal(['a1', 'a2']);
    expect(body.pools.api.servers[0]).to.include.keys('state', 'health', 'flags', 'weight', 'effectiveWeight', 'active', 'requests', 'rps', 'latencyMs', 'checks');
  });

  describe('POST …/weight', () => {
    it('sets the weight at once and records who did it', async () => {
      const { body } = await post('pools/api/servers/a2/weight', { weight: 3 }).expect(200);
      expect(body.server).to.include({ id: 'a2', weight: 3 });
      expect(server('a2')!.weight).to.equal(3);
      expect(audited).to.have.length(1);
      expect(audited[0]).to.include({ user: 'ops', action: 'weight', pool: 'api', server: 'a2', before: 1, after: 3, address: '127.0.0.1' });
    });

    it('accepts 0 and fractions', async () => {
      await post('pools/api/servers/a2/weight', { weight: 0 }).expect(200);
      await post('pools/api/servers/a2/weight', { weight: 0.5 }).expect(200);
      expect(server('a2')!.weight).to.equal(0.5);
    });

    for (const [name, body] of [
      ['a string', { weight: '3' }],
      ['a negative number', { weight: -1 }],
      ['null', { weight: null }],
      ['missing', {}],
      ['an object', { weight: { n: 1 } }],
    ] as const) {
      it(`answers 400 for a weight that is ${name}, and changes nothing`, async () => {
        const before = unchanged();
        const res = await post('pools/api/servers/a2/weight', body).expect(400);
        expect(res.body.status).to.equal(400);
        expect(res.body.error).to.match(/^weight: expected a number >= 0/);
        expect(unchanged()).to.equal(before);
        expect(audited).to.deep.equal([]);
      });
    }

    it('answers 400 for malformed JSON or a JSON array', async () => {
      const before = unchanged();
      const bad = await api().post('/admin/api/pools/api/servers/a2/weight').set('x-csrf-token', token).type('json').send('{"weight": 3').expect(400);
      expect(bad.body).to.deep.equal({ error: 'malformed JSON body', status: 400 });
      await api().post('/admin/api/pools/api/servers/a2/weight').set('x-csrf-token', token).type('json').send('[3]').expect(400);
      expect(unchanged()).to.equal(before);
    });

    it('answers 404 for an unknown pool or server', async () => {
      const before = unchanged();
      expect((await post('pools/nope/servers/a1/weight', { weight: 2 }).expect(404)).body.error).to.equal('no pool "nope"');
      expect((await post('pools/api/servers/nope/weight', { weight: 2 }).expect(404)).body.error).to.equal('no server "nope" in pool "api"');
      expect((await post('pools/web/servers/a1/weight', { weight: 2 }).expect(404)).body.status).to.equal(404);
      expect(unchanged()).to.equal(before);
    });

    it('answers 413 past the body limit and 415 for other content types', async () => {
      await api().post('/admin/api/pools/api/servers/a2/weight').set('x-csrf-token', token).type('json').send(JSON.stringify({ weight: 1, pad: 'x'.repeat(20_000) })).expect(413);
      await api().post('/admin/api/pools/api/servers/a2/weight').set('x-csrf-token', token).type('text/plain').send('weight=3').expect(415);
    });
  });

  describe('enable and disable', () => {
    it('disables and enables again, each change in the audit log', async () => {
      expect((await post('pools/api/servers/a1/disable').expect(200)).body.server).to.include({ id: 'a1', state: 'disabled' });
      expect(balancer.snapshot().pools.api!.eligible).to.equal(1);
      expect((await post('pools/api/servers/a1/enable').expect(200)).body.server).to.include({ state: 'active' });
      expect(audited.map((e) => [e.action, e.before, e.after])).to.deep.equal([['disable', 'active', 'disabled'], ['enable', 'disabled', 'active']]);
      await post('pools/api/servers/zz/enable').expect(404);
      await post('pools/zz/servers/a1/disable').expect(404);
    });
  });

  describe('POST …/drain', () => {
    it('answers 202 at once with the deadline and what is in flight, while the drain goes on', async () => {
      balancer.pool('api').disable('a2');
      const inFlight = new Promise<number>((resolve, reject) => {
        http.get(`${host.url}/api/hang?ms=800`, (res) => resolve(res.statusCode!)).on('error', reject);
      });
      await waitFor('the drained server to have one request in flight', () => server('a1')!.active === 1);
      balancer.pool('api').enable('a2');
      const started = Date.now();
      const res = await post('pools/api/servers/a1/drain').expect(202);
      expect(Date.now() - started).to.be.below(300);
      expect(res.body.server).to.include({ id: 'a1', state: 'draining' });
      expect(res.body.inFlight).to.equal(1);
      expect(res.body.deadline).to.be.within(started + 2500, Date.now() + 3000);
      expect(await inFlight).to.equal(200);
      expect(server('a1')).to.include({ state: 'draining', active: 0 });
      // the disable and enable above were made in code: audited too, as user "code"
      expect(audited.map((e) => `${e.user} ${e.action}`)).to.deep.equal(['code disable', 'code enable', 'ops drain']);
      expect(audited[2]).to.include({ action: 'drain', before: 'active', after: 'draining' });
    });

    it('takes a timeoutMs, and refuses a bad one', async () => {
      const started = Date.now();
      const res = await post('pools/api/servers/a1/drain', { timeoutMs: 500 }).expect(202);
      expect(res.body.deadline).to.be.within(started + 400, Date.now() + 500);
      await post('pools/api/servers/a2/drain', { timeoutMs: -5 }).expect(400);
      await post('pools/api/servers/a2/drain', { timeoutMs: 1.5 }).expect(400);
      expect(server('a2')!.state).to.equal('active');
    });
  });

  describe('adding and removing servers', () => {
    it('adds a server (201), which then takes traffic', async () => {
      const res = await post('pools/api/servers', { id: 'a3', url: backends[1]!.url, weight: 2 }).expect(201);
      expect(res.body.server).to.include({ id: 'a3', weight: 2, state: 'active' });
      expect(server('a3')).to.include({ url: backends[1]!.url });
      expect(audited[0]).to.deep.include({ action: 'add', server: 'a3', before: null, after: { url: backends[1]!.url, weight: 2, backup: false, labels: {} } });
    });

    it('refuses a duplicate id, a bad URL, a missing id and an unknown pool', async () => {
      const before = unchanged();
      expect((await post('pools/api/servers', { id: 'a1', url: backends[0]!.url }).expect(400)).body.error).to.match(/already exists/);
      expect((await post('pools/api/servers', { id: 'x', url: 'ftp://host' }).expect(400)).body.error).to.match(/http/);
      expect((await post('pools/api/servers', { url: backends[0]!.url }).expect(400)).body.error).to.match(/^id:/);
      await post('pools/api/servers', { id: 'x', url: backends[0]!.url, weight: -2 }).expect(400);
      await post('pools/zz/servers', { id: 'x', url: backends[0]!.url }).expect(404);
      expect(unchanged()).to.equal(before);
      expect(audited).to.deep.equal([]);
    });

    it('DELETE removes a server after draining it (202 at once)', async () => {
      const res = await api().delete('/admin/api/pools/api/servers/a2').set('x-csrf-token', token).expect(202);
      expect(res.body.server).to.include({ id: 'a2' });
      await waitFor('the removed server to leave the pool', () => server('a2') === undefined);
      expect(audited.map(({ user, action, server, before, after }) => ({ user, action, server, before, after }))).to.deep.equal([
        { user: 'ops', action: 'remove', server: 'a2', before: 'active', after: 'removing' },
        { user: 'ops', action: 'removed', server: 'a2', before: { admin: 'removing', url: backends[1]!.url, weight: 1 }, after: null },
      ]);
      await api().delete('/admin/api/pools/api/servers/a2').set('x-csrf-token', token).expect(404);
    });

    it('POST …/remove does the same, for forms', async () => {
      await post('pools/api/servers/a2/remove').expect(202);
      await waitFor('the removed server to leave the pool', () => server('a2') === undefined);
    });
  });

  it('answers 404 JSON for routes it does not have', async () => {
    expect((await api().get('/admin/api/nope').expect(404)).body).to.deep.equal({ error: 'no API route GET /api/nope', status: 404 });
    await api().get('/admin/api/pools/api/servers/a1/weight').expect(404);
    await post('pools/api/servers/a1/explode').expect(404);
  });

  describe('GET api/audit', () => {
    it('lists entries newest first with who, what, when, before and after, bounded by auditSize', async () => {
      for (const weight of [2, 3, 4, 5, 6, 7]) await post('pools/api/servers/a1/weight', { weight }).expect(200);
      const { body } = await api().get('/admin/api/audit').expect(200);
      expect(body.entries).to.have.length(5);
      expect(body.entries.map((e: AuditEntry) => e.after)).to.deep.equal([7, 6, 5, 4, 3]);
      const [newest] = body.entries as AuditEntry[];
      expect(newest).to.include({ seq: 6, user: 'ops', address: '127.0.0.1', action: 'weight', pool: 'api', server: 'a1', before: 6, after: 7 });
      expect(newest!.at).to.be.closeTo(Date.now(), 2000);
      expect(audited).to.have.length(6);
    });

    it('shows the log on the page', async () => {
      await post('pools/api/servers/a1/disable').expect(200);
      const { text } = await api().get('/admin/').expect(200);
      expect(text).to.match(/<td>ops<\/td><td>disable<\/td><td>api \/ a1<\/td><td>active → disabled<\/td>/);
    });
  });
});

