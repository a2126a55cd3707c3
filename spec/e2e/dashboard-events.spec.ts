import { expect } from 'chai';
import express from 'express';
import http from 'node:http';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import type { DashboardView } from '../../dashboard/view-model.js';
import { listen } from '../support/backends.js';

const AUTH = `Basic ${Buffer.from('ops:pa55word-long-enough').toString('base64')}`;

interface Stream {
  status: number;
  views: DashboardView[];
  ended: Promise<void>;
  /** The next view that satisfies `test`, among those already received or still to come. */
  next(test?: (view: DashboardView) => boolean, timeoutMs?: number): Promise<DashboardView>;
  close(): void;
}

function openStream(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: AUTH } }, (res) => {
      const views: DashboardView[] = [];
      let read = 0;
      let buffer = '';
      let wake = () => {};
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop()!;
        for (const block of blocks) {
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (/^event: snapshot$/m.test(block) && data) views.push(JSON.parse(data) as DashboardView);
        }
        wake();
      });
      const ended = new Promise<void>((done) => res.on('close', done));
      resolve({
        status: res.statusCode!,
        views,
        ended,
        async next(test = () => true, timeoutMs = 2000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            while (read < views.length) {
              const view = views[read++]!;
              if (test(view)) return view;
            }
            if (Date.now() > deadline) throw new Error('no matching event in time');
            await new Promise<void>((woken) => {
              wake = woken;
              setTimeout(woken, 50);
            });
          }
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

const stateOf = (view: DashboardView, id: string) => view.pools[0]!.servers.find((s) => s.id === id)?.state;

describe('dashboard live updates (GET events)', () => {
  let balancer: Balancer;
  let dashboard: Dashboard;
  let host: Awaited<ReturnType<typeof listen>>;
  const streams: Stream[] = [];

  async function start(options: { updateIntervalMs?: number; maxStreams?: number } = {}) {
    dashboard = createDashboard(balancer, { auth: { username: 'ops', password: 'pa55word-long-enough' }, ...options });
    host = await listen(express().use('/admin', dashboard));
  }

  async function stream(): Promise<Stream> {
    const opened = await openStream(`${host.url}/admin/events`);
    streams.push(opened);
    return opened;
  }

  beforeEach(() => {
    balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { servers: [{ id: 'a1', url: 'http://127.0.0.1:9' }, { id: 'a2', url: 'http://127.0.0.1:10' }] } },
    });
  });

  afterEach(async () => {
    for (const opened of streams.splice(0)) opened.close();
    dashboard.close();
    await host.close();
    await balancer.close();
  });

  it('starts with the full view: every pool and server, and the audit log', async () => {
    await start();
    const events = await stream();
    expect(events.status).to.equal(200);
    const first = await events.next();
    expect(first.pools.map((p) => p.name)).to.deep.equal(['api']);
    expect(first.pools[0]!.servers.map((s) => s.id)).to.deep.equal(['a1', 'a2']);
    expect(first.pools[0]!.servers[0]!.cells).to.include({ state: 'active', health: 'healthy', weight: '1', reason: 'no active check' });
    expect(first.audit).to.deep.equal([]);
  });

  it('pushes at once on a change event, not only on the timer', async () => {
    await start({ updateIntervalMs: 10_000 });
    const events = await stream();
    await events.next();
    const changed = Date.now();
    balancer.pool('api').disable('a1');
    const view = await events.next((v) => stateOf(v, 'a1') === 'disabled', 1000);
    expect(Date.now() - changed).to.be.below(200);
    expect(view.pools[0]!.summary).to.match(/^1\/2 eligible/);
  });

  it('pushes every updateIntervalMs, and the trend line grows', async () => {
    await start({ updateIntervalMs: 100 });
    const events = await stream();
    await events.next((v) => v.pools[0]!.servers[0]!.trend.length >= 3, 2000);
    expect(events.views.length).to.be.at.least(3);
  });

  it('shows an action taken through the API on every open dashboard, audit entry included', async () => {
    await start({ updateIntervalMs: 10_000 });
    const [one, two] = [await stream(), await stream()];
    await one.next();
    await two.next();
    const page = await request(host.url).get('/admin/').set('authorization', AUTH);
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.text)![1]!;
    await request(host.url).post('/admin/api/pools/api/servers/a2/weight').set('authorization', AUTH).set('x-csrf-token', token).send({ weight: 9 }).expect(200);
    for (const events of [one, two]) {
      const view = await events.next((v) => v.audit !== undefined && v.audit.length === 1, 1000);
      expect(view.pools[0]!.servers[1]!.cells.weight).to.equal('9');
      expect(view.audit![0]).to.include({ user: 'ops', action: 'weight', target: 'api / a2', change: '1 → 9' });
    }
    // the log is sent again only when it changes: a health change is pushed at once, without it
    balancer.poolInternal('api').get('a1')!.eject(Date.now() + 60_000, 'ejected for the test');
    expect((await one.next((v) => v.pools[0]!.servers.find((s) => s.id === 'a1')?.health === 'unhealthy')).audit).to.equal(undefined);
  });

  it('refuses streams past maxStreams with 503', async () => {
    await start({ maxStreams: 1 });
    await (await stream()).next();
    const refused = await stream();
    expect(refused.status).to.equal(503);
  });

  it('close() ends every stream and stops listening to the balancer', async () => {
    const before = balancer.listenerCount('change');
    await start();
    const events = await stream();
    await events.next();
    expect(balancer.listenerCount('change')).to.equal(before + 1);
    dashboard.close();
    await events.ended;
    expect(balancer.listenerCount('change')).to.equal(before);
  });

  it('stops listening when the last dashboard goes away', async () => {
    const before = balancer.listenerCount('change');
    await start();
    const events = await stream();
    await events.next();
    events.close();
    const deadline = Date.now() + 1000;
    while (balancer.listenerCount('change') !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(balancer.listenerCount('change')).to.equal(before);
  });
});
