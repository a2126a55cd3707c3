import { expect } from 'chai';
import { createBalancer, type Balancer, type HealthEvent, type PanicEvent } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { startBackends, type Backend } from '../support/backends.js';
import { send, startHost, type Host } from '../support/hosts.js';
import { waitFor } from '../support/wait.js';


describe('health through the balancer', () => {
  let backends: Backend[];
  let sick = new Set<string>();
  let balancer: Balancer;
  let host: Host;
  const events: HealthEvent[] = [];

  before(async () => {
    backends = await startBackends(2, 'h', (req, res, backend) => {
      const failing = sick.has(backend.id);
      res.writeHead(req.url === '/health' && failing ? 500 : 200, { 'x-backend': backend.id });
      res.end(backend.id);
    });
    balancer = createBalancer({
      logger: silentLogger,
      // panic off: with every server unhealthy, answer 503 at once (HAProxy's and NGINX's way)
      pools: { api: { panicThreshold: 0, healthCheck: { type: 'http', path: '/health', intervalMs: 40, timeoutMs: 30 }, servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
    });
    balancer.on('health', (event) => events.push(event));
    host = await startHost('express', balancer);
    await waitFor('eligible servers', () => balancer.snapshot().pools.api!.eligible === 2);
  });

  after(async () => {
    await host.close();
    await balancer.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('takes a failing server out of rotation, and brings it back', async () => {
    sick = new Set(['h1']);
    await waitFor('eligible servers', () => balancer.snapshot().pools.api!.eligible === 1);
    for (let i = 0; i < 6; i++) expect((await send(host.url, '/x')).headers['x-backend']).to.equal('h2');
    const h1 = balancer.snapshot().pools.api!.servers[0]!;
    expect(h1).to.deep.include({ health: 'unhealthy' });
    expect(h1.flags.check).to.equal('unhealthy');
    expect(h1.checks.at(-1)).to.include({ ok: false, reason: 'status 500' });
    expect(events.find((e) => e.server === 'h1' && e.after === 'unhealthy')).to.include({ before: 'healthy', reason: 'status 500 (3 in a row)' });

    sick = new Set();
    await waitFor('eligible servers', () => balancer.snapshot().pools.api!.eligible === 2);
    const seen = new Set<string | string[] | undefined>();
    for (let i = 0; i < 4; i++) seen.add((await send(host.url, '/x')).headers['x-backend']);
    expect([...seen].sort()).to.deep.equal(['h1', 'h2']);
  });

  it('answers 503 with Retry-After at once when every server is unhealthy', async () => {
    sick = new Set(['h1', 'h2']);
    await waitFor('eligible servers', () => balancer.snapshot().pools.api!.eligible === 0);
    const started = Date.now();
    const res = await send(host.url, '/x', { headers: { accept: 'application/json' } });
    expect(res.status).to.equal(503);
    expect(res.headers['retry-after']).to.equal('5');
    expect(res.json()).to.have.nested.property('error.code', 'NO_ELIGIBLE_SERVER');
    expect(Date.now() - started).to.be.below(100);
    sick = new Set();
    await waitFor('eligible servers', () => balancer.snapshot().pools.api!.eligible === 2);
  });

  it('balances over every server in panic, when fewer than panicThreshold% are healthy (Envoy)', async () => {
    const three = await startBackends(3, 'p', (req, res, backend) => {
      const failing = sick.has(backend.id);
      res.writeHead(req.url === '/health' && failing ? 500 : 200, { 'x-backend': backend.id });
      res.end(backend.id);
    });
    const panicky = createBalancer({
      logger: silentLogger,
      pools: { api: { healthCheck: { type: 'http', path: '/health', intervalMs: 40, timeoutMs: 30 }, servers: three.map((b) => ({ id: b.id, url: b.url })) } },
    });
    const events: PanicEvent[] = [];
    panicky.on('panic', (event) => events.push(event));
    const front = await startHost('wrap', panicky);
    try {
      await waitFor('all admitted', () => panicky.snapshot().pools.api!.eligible === 3);
      sick = new Set(['p1', 'p2']); // 1 of 3 healthy: below 50%
      await waitFor('panic', () => panicky.snapshot().pools.api!.panic);
      expect(panicky.snapshot().pools.api!.eligible).to.equal(3);
      const seen = new Set<string>();
      for (let i = 0; i < 9; i++) seen.add(String((await send(front.url, '/x')).headers['x-backend']));
      expect([...seen].sort(), 'the one healthy server is not crushed').to.deep.equal(['p1', 'p2', 'p3']);
      sick = new Set(['p1']); // 2 of 3: out of panic, the sick one out of rotation
      await waitFor('panic over', () => !panicky.snapshot().pools.api!.panic, 3000);
      expect(panicky.snapshot().pools.api!.eligible).to.equal(2);
      expect(events.map(({ panic, healthy, total }) => ({ panic, healthy, total }))).to.deep.equal([{ panic: true, healthy: 1, total: 3 }, { panic: false, healthy: 2, total: 3 }]);
    } finally {
      sick = new Set();
      await front.close();
      await panicky.close();
      await Promise.all(three.map((b) => b.close()));
    }
  });
});
