import { expect } from 'chai';
import { createBalancer, type Balancer, type HealthEvent } from '../../middleware/index.js';
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
      pools: { api: { healthCheck: { type: 'http', path: '/health', intervalMs: 40, timeoutMs: 30 }, servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
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
});
