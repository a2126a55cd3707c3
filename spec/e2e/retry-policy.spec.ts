import { expect } from 'chai';
import http from 'node:http';
import { createBalancer, type Balancer, type BalancerOptions } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { startBackend, type Backend, type Handler } from '../support/backends.js';
import { send, startHost, type Host } from '../support/hosts.js';

/** A backend that answers `status` and names itself. */
const answering = (status: number): Handler => (req, res, self) => {
  req.resume();
  req.on('end', () => res.writeHead(status, { 'x-backend': self.id, 'content-type': 'text/plain' }).end(self.id));
};

describe('retry policy', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function backend(id: string, handler: Handler): Promise<Backend> {
    const started = await startBackend(id, handler);
    cleanups.push(() => started.close());
    return started;
  }

  async function proxy(options: BalancerOptions): Promise<{ balancer: Balancer; host: Host }> {
    const balancer = createBalancer({ logger: silentLogger, ...options });
    const host = await startHost('wrap', balancer);
    cleanups.push(() => balancer.close(), () => host.close());
    return { balancer, host };
  }

  it('retries an idempotent request on a retried status, on another server; a POST only with an Idempotency-Key when allowed', async () => {
    const [bad, good] = await Promise.all([backend('bad', answering(503)), backend('good', answering(200))]);
    const servers = [{ id: 'bad', url: bad.url }, { id: 'good', url: good.url }];
    const { host } = await proxy({
      pools: { keyed: { retry: { on: [503], idempotencyKey: true }, servers }, plain: { retry: { on: [503] }, servers } },
      routes: [{ path: '/keyed', pool: 'keyed' }, { path: '/plain', pool: 'plain' }],
    });
    for (let i = 0; i < 4; i++) expect((await send(host.url, '/plain/x')).headers['x-backend']).to.equal('good');
    const posts = await Promise.all([0, 1].map(() => send(host.url, '/plain/order', { method: 'POST', body: 'once' })));
    expect(posts.map((post) => post.status).sort()).to.deep.equal([200, 503]);
    for (let i = 0; i < 4; i++) {
      const keyed = await send(host.url, '/keyed/order', { method: 'POST', body: 'once', headers: { 'idempotency-key': `k-${i}` } });
      expect(keyed.status).to.equal(200);
    }
  });

  it('relays the last answer when every try gets a retried status, after `tries` other servers', async () => {
    const all = await Promise.all(['a', 'b', 'c', 'd'].map((id) => backend(id, answering(503))));
    const { host, balancer } = await proxy({ pools: { api: { passiveHealth: false, retry: { on: [503], tries: 2 }, servers: all.map((b) => ({ id: b.id, url: b.url })) } } });
    const res = await send(host.url, '/x');
    expect(res.status).to.equal(503);
    expect(res.body).to.match(/^[abcd]$/, 'the server\'s own answer, not an error of ours');
    expect(all.reduce((sum, b) => sum + b.hits, 0)).to.equal(3);
    expect(balancer.snapshot().pools.api!.servers.reduce((sum, s) => sum + s.errors.http5xx, 0)).to.equal(3);
  });

  it('retries a try that does not answer within perTryTimeoutMs, but never once the answer has started', async () => {
    const silent = await backend('silent', () => {});
    const good = await backend('good', answering(200));
    const stalls = await backend('stalls', (req, res) => void res.writeHead(200, { 'x-backend': 'stalls' }).write('partial'));
    const { host } = await proxy({
      pools: {
        api: { retry: { on: ['timeout'], perTryTimeoutMs: 150 }, servers: [{ id: 'silent', url: silent.url }, { id: 'good', url: good.url }] },
        started: { timeouts: { responseMs: 150 }, retry: { on: ['timeout'] }, servers: [{ id: 'stalls', url: stalls.url }, { id: 'good', url: good.url }] },
      },
      routes: [{ path: '/api', pool: 'api' }, { path: '/started', pool: 'started' }],
    });
    const started = Date.now();
    const retried = await send(host.url, '/api/x');
    expect(retried.headers['x-backend']).to.equal('good');
    expect(Date.now() - started).to.be.below(1500);
    // round robin sends the first to `stalls`: its head is out, so the only honest end is a cut
    const cut = await send(host.url, '/started/x').then((res) => res.status, (error: NodeJS.ErrnoException) => error.code);
    expect(cut).to.equal('ECONNRESET');
  });

  it('keeps retries within the budget when the whole pool fails', async function () {
    this.timeout(20_000);
    const failing = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => backend(id, (req, res) => setTimeout(() => answering(503)(req, res, { id } as Backend), 20))));
    const servers = failing.map((b) => ({ id: b.id, url: b.url }));
    const run = async (budgetPercent: number): Promise<number> => {
      const { host } = await proxy({ pools: { api: { passiveHealth: false, retry: { on: [503], tries: 4, budgetPercent }, servers } } });
      const before = failing.reduce((sum, b) => sum + b.hits, 0);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 30 });
      await Promise.all(Array.from({ length: 30 }, async () => {
        for (let i = 0; i < 5; i++) await send(host.url, '/x', { agent });
      }));
      agent.destroy();
      return (failing.reduce((sum, b) => sum + b.hits, 0) - before) / 150;
    };
    const unbounded = await run(100);
    const budgeted = await run(20);
    expect(unbounded, 'without a budget, every request tries 5 servers').to.be.above(4.5);
    expect(budgeted, 'with 20%: about one attempt in five is a retry').to.be.below(2);
  });

  it('takes a route\'s own retry policy and timeouts over its pool\'s', async () => {
    const [bad, good] = await Promise.all([backend('bad', answering(503)), backend('good', answering(200))]);
    const { host } = await proxy({
      pools: { api: { servers: [{ id: 'bad', url: bad.url }, { id: 'good', url: good.url }] } },
      routes: [{ path: '/retried', pool: 'api', retry: { on: [503] }, timeouts: { responseMs: 2000 } }, { path: '/', pool: 'api' }],
    });
    const plain = await Promise.all([0, 1].map(() => send(host.url, '/plain')));
    expect(plain.map((res) => res.status).sort()).to.deep.equal([200, 503]);
    for (let i = 0; i < 3; i++) expect((await send(host.url, '/retried/x')).status).to.equal(200);
  });

  it('waits backoffMs, doubled each time with jitter, before a retry', async () => {
    const all = await Promise.all(['a', 'b', 'c'].map((id) => backend(id, answering(503))));
    const { host } = await proxy({ pools: { api: { passiveHealth: false, retry: { on: [503], tries: 2, backoffMs: 200 }, servers: all.map((b) => ({ id: b.id, url: b.url })) } } });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await send(host.url, '/x');
      times.push(Date.now() - started);
    }
    // up to 200 + 400 ms of waiting per request: never more, and not nothing over five requests
    expect(Math.max(...times)).to.be.below(900);
    expect(times.reduce((sum, ms) => sum + ms, 0)).to.be.above(100);
  });

  it('ejects a server that fails 30% of its requests while never failing 5 in a row (errorRate)', async () => {
    let count = 0;
    // fails every third request: 33% errors, never two in a row
    const flaky = await backend('flaky', (req, res, self) => answering(++count % 3 === 0 ? 500 : 200)(req, res, self));
    const good = await backend('good', answering(200));
    const { host, balancer } = await proxy({
      pools: { api: { passiveHealth: { include5xx: true, errorRate: { threshold: 0.3, minRequests: 20, windowMs: 10_000 } }, servers: [{ id: 'flaky', url: flaky.url }, { id: 'good', url: good.url }] } },
    });
    const reasons: string[] = [];
    balancer.on('health', (event) => reasons.push(`${event.server} ${event.after}: ${event.reason}`));
    for (let i = 0; i < 60 && !balancer.snapshot().pools.api!.servers[0]!.flags.ejected; i++) await send(host.url, '/x');
    expect(balancer.snapshot().pools.api!.servers[0]!.flags.ejected).to.equal(true);
    expect(reasons).to.have.length(1);
    expect(reasons[0]).to.match(/^flaky unhealthy: error rate 3\d% over 10 s \(\d+ of \d+\); ejected for 30000 ms$/);
    expect(flaky.hits).to.be.at.least(20);
  });
});
