import { expect } from 'chai';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { startBackends, type Backend } from '../support/backends.js';
import { mountDashboard, type DashboardHost } from '../support/dashboard-host.js';
import { sleep } from '../support/wait.js';

interface SharedServer {
  id: string;
  weight: number;
  share: { recent: number | null; configured: number };
}

describe('dashboard: each server’s share of the traffic', () => {
  let backends: Backend[];
  let balancer: Balancer;
  let mounted: DashboardHost;

  before(async () => {
    backends = await startBackends(2, 's');
  });

  after(() => Promise.all(backends.map((b) => b.close())));

  beforeEach(async () => {
    balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { algorithm: 'weighted-round-robin', servers: backends.map((b, i) => ({ id: b.id, url: b.url, weight: i === 0 ? 3 : 1 })) } },
      routes: [{ path: '/api', pool: 'api' }],
    });
    mounted = await mountDashboard(balancer);
  });

  afterEach(async () => {
    await mounted.close();
    await balancer.close();
  });

  /** `count` requests through the balancer, a few at a time, with no cookies (so nothing sticks); answers who served them. */
  async function send(count: number): Promise<Record<string, number>> {
    const served: Record<string, number> = {};
    for (let sent = 0; sent < count; sent += 10) {
      const batch = Array.from({ length: Math.min(10, count - sent) }, async () => {
        const res = await fetch(`${mounted.host.url}/api/x`);
        expect(res.status).to.equal(200);
        const backend = res.headers.get('x-backend')!;
        served[backend] = (served[backend] ?? 0) + 1;
        await res.arrayBuffer();
      });
      await Promise.all(batch);
    }
    // the window counts whole seconds only: wait until the second of the last request is over
    await sleep(1000 - (Date.now() % 1000) + 50);
    return served;
  }

  async function shares(): Promise<Record<string, SharedServer['share']>> {
    const { body } = await mounted.api().get('/admin/api/pools').expect(200);
    return Object.fromEntries((body.pools.api.servers as SharedServer[]).map((server) => [server.id, server.share]));
  }

  /** The share cells of a server's row in the page as rendered, before any script runs. */
  async function pageShares(): Promise<Record<string, [string, string]>> {
    const html = (await mounted.api().get('/admin/').expect(200)).text;
    const cells: Record<string, [string, string]> = {};
    for (const id of ['s1', 's2']) {
      const row = html.slice(html.indexOf(`<tr data-server="${id}"`));
      const cell = (field: string) => new RegExp(`data-f="${field}"[^>]*>([^<]*)<`).exec(row.slice(0, row.indexOf('</tr>')))![1]!;
      cells[id] = [cell('share'), cell('configured')];
    }
    return cells;
  }

  it('with weights 3:1, shows about 75% and 25% of the last 10 s beside the configured 75% and 25%', async () => {
    expect(await shares(), 'no traffic yet').to.deep.equal({ s1: { recent: null, configured: 0.75 }, s2: { recent: null, configured: 0.25 } });
    expect(await pageShares()).to.deep.equal({ s1: ['–', '75%'], s2: ['–', '25%'] });

    const served = await send(200);
    expect(served.s1! + served.s2!).to.equal(200);
    const after = await shares();
    expect(after.s1!.recent).to.be.within(0.72, 0.78);
    expect(after.s2!.recent).to.be.within(0.22, 0.28);
    // what the API says is what the backends saw
    expect(after.s1!.recent).to.be.closeTo(served.s1! / 200, 0.001);
    expect([after.s1!.configured, after.s2!.configured]).to.deep.equal([0.75, 0.25]);
    const page = await pageShares();
    expect(page.s1![0]).to.match(/^7[2-8]%$/);
    expect(page.s2![0]).to.match(/^2[2-8]%$/);
    expect([page.s1![1], page.s2![1]]).to.deep.equal(['75%', '25%']);
  });

  it('after a reweight to 1:3, the configured share changes at once and new traffic moves the recent share', async () => {
    await send(200);
    expect((await shares()).s1!.recent).to.be.within(0.72, 0.78);
    await mounted.api().post('/admin/api/pools/api/servers/s1/weight').set('x-csrf-token', mounted.token).send({ weight: 1 }).expect(200);
    await mounted.api().post('/admin/api/pools/api/servers/s2/weight').set('x-csrf-token', mounted.token).send({ weight: 3 }).expect(200);
    const reweighted = await shares();
    expect([reweighted.s1!.configured, reweighted.s2!.configured]).to.deep.equal([0.25, 0.75]);
    expect(reweighted.s1!.recent, 'the window still holds the old traffic').to.be.above(0.7);

    const served = await send(400);
    expect(served.s2! / 400).to.be.within(0.7, 0.8);
    // 150 + 100 of 600 while the first batch is still in the window; 25% once it has left
    const moved = await shares();
    expect(moved.s1!.recent).to.be.within(0.22, 0.45);
    expect(moved.s2!.recent).to.be.within(0.55, 0.78);
    const page = await pageShares();
    expect([page.s1![1], page.s2![1]]).to.deep.equal(['25%', '75%']);
    expect(Number(page.s2![0].replace('%', ''))).to.be.above(50);
  });
});
