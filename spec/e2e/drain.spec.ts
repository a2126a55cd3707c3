import { expect } from 'chai';
import http from 'node:http';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { startBackend, startBackends, type Backend } from '../support/backends.js';
import { startHost, type Host } from '../support/hosts.js';
import { sleep, slowEcho, startLoad } from '../support/load.js';

describe('draining', () => {
  let backends: Backend[];
  let balancer: Balancer;
  let host: Host;

  beforeEach(async () => {
    backends = await startBackends(3, 'd', slowEcho(15));
    balancer = createBalancer({
      pools: { api: { drainTimeoutMs: 2000, servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
    });
    host = await startHost('wrap', balancer);
  });

  afterEach(async () => {
    await host.close();
    await balancer.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('loses no request while a server drains under load', async function () {
    this.timeout(10000);
    const load = startLoad(host.url, { concurrency: 6 });
    await sleep(300);
    const drainStarted = Date.now();
    const result = await balancer.pool('api').drain('d2');
    const drainEnded = Date.now();
    await sleep(300);
    const results = await load.stop();

    expect(results.length).to.be.above(50);
    expect(results.filter((r) => r.status !== 200), 'failed requests').to.deep.equal([]);
    expect(result).to.include({ server: 'd2', drained: true, closed: 0 });
    // d2 finished what it had, and took nothing new once the drain had begun
    const lateOnD2 = results.filter((r) => r.backend === 'd2' && r.at > drainStarted + 100);
    expect(lateOnD2).to.deep.equal([]);
    expect(results.filter((r) => r.backend === 'd2' && r.at < drainStarted).length).to.be.above(5);
    expect(drainEnded - drainStarted).to.be.below(500);
    expect(balancer.snapshot().pools.api!.servers.find((s) => s.id === 'd2')).to.include({ state: 'draining', active: 0 });
  });

  it('closes what is still open at the drain timeout, and counts it', async () => {
    const stuck = await startBackend('stuck', () => {}); // never answers
    balancer.pool('api').addServer({ id: 'stuck', url: stuck.url });
    for (const id of ['d1', 'd2', 'd3']) balancer.pool('api').disable(id);
    const url = new URL(host.url);
    const clientSawEnd = new Promise<string>((resolve) => {
      const req = http.get({ host: url.hostname, port: url.port, path: '/slow', agent: false }, () => resolve('response'));
      req.on('error', (error) => resolve(error.message));
    });
    await sleep(100);
    const started = Date.now();
    const result = await balancer.pool('api').drain('stuck', 200);
    expect(Date.now() - started).to.be.within(150, 600);
    expect(result).to.include({ server: 'stuck', drained: false, closed: 1 });
    expect(await clientSawEnd).to.match(/socket hang up|ECONNRESET/);
    await stuck.close();
  });

  it('removeServer drains first: the in-flight request completes', async () => {
    const slow = await startBackend('slow', slowEcho(300));
    const pool = balancer.pool('api');
    pool.addServer({ id: 'slow', url: slow.url });
    for (const id of ['d1', 'd2', 'd3']) pool.disable(id);
    const inFlight = startLoad(host.url, { concurrency: 1 });
    await sleep(100);
    const removed = pool.removeServer('slow');
    for (const id of ['d1', 'd2', 'd3']) pool.enable(id);
    const result = await removed;
    const results = await inFlight.stop();
    expect(result.drained).to.equal(true);
    expect(results[0]).to.include({ status: 200, backend: 'slow' });
    expect(balancer.snapshot().pools.api!.servers.map((s) => s.id)).to.deep.equal(['d1', 'd2', 'd3']);
    await slow.close();
  });

  it('close() lets in-flight requests finish', async () => {
    const load = startLoad(host.url, { concurrency: 3 });
    await sleep(50);
    await balancer.close();
    const results = await load.stop();
    const beforeClose = results.filter((r) => r.status === 200);
    expect(beforeClose.length).to.be.above(0);
    // none failed: in flight at close() they finished; after it, the host app answers them itself
    expect(results.filter((r) => r.status !== 200)).to.deep.equal([]);
  });
});
