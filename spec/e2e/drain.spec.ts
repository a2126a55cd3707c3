import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { startBackend, startBackends, type Backend } from '../support/backends.js';
import { send, startHost, type Host } from '../support/hosts.js';
import { slowEcho, startLoad } from '../support/load.js';
import { waitFor } from '../support/wait.js';

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
    await waitFor('load on every server', () => new Set(load.results.map((r) => r.backend)).size === 3 && load.results.length > 30, 5000);
    const drainStarted = Date.now();
    const result = await balancer.pool('api').drain('d2');
    const drainEnded = Date.now();
    const countAtDrain = load.results.length;
    await waitFor('more requests after the drain', () => load.results.length > countAtDrain + 30, 5000);
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
    await waitFor('the request to reach the stuck server', () => stuck.hits === 1);
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
    await waitFor('a request on the slow server', () => slow.hits === 1);
    const removed = pool.removeServer('slow');
    for (const id of ['d1', 'd2', 'd3']) pool.enable(id);
    const result = await removed;
    const results = await inFlight.stop();
    expect(result.drained).to.equal(true);
    expect(results[0]).to.include({ status: 200, backend: 'slow' });
    expect(balancer.snapshot().pools.api!.servers.map((s) => s.id)).to.deep.equal(['d1', 'd2', 'd3']);
    await slow.close();
  });

  it('close() lets in-flight requests finish, answers new routed ones 503 with Connection: close, and changes no record', async () => {
    const changes: unknown[] = [];
    balancer.on('change', (event) => changes.push(event));
    const slow = await startBackend('slow', slowEcho(300));
    const pool = balancer.pool('api');
    await pool.addServer({ id: 'slow', url: slow.url });
    for (const id of ['d1', 'd2', 'd3']) await pool.disable(id);
    changes.length = 0;
    const inFlight = send(host.url, '/api/one');
    await waitFor('a request on the slow server', () => slow.hits === 1);
    const closing = balancer.close();
    const during = await send(host.url, '/api/two', { headers: { accept: 'application/json' } });
    expect(during.status).to.equal(503);
    expect(during.headers.connection).to.equal('close');
    expect(during.json<{ error: { code: string } }>().error.code).to.equal('SHUTTING_DOWN');
    expect((await inFlight).status).to.equal(200);
    await closing;
    expect(changes, 'closing one instance drains nothing for the others').to.deep.equal([]);
    expect(balancer.pool('api').records().map((record) => record.admin)).to.deep.equal(['disabled', 'disabled', 'disabled', 'active']);
    await slow.close();
  });

  it('enable() during removeServer cancels the removal', async () => {
    const slow = await startBackend('slow', slowEcho(300));
    const pool = balancer.pool('api');
    await pool.addServer({ id: 'slow', url: slow.url });
    for (const id of ['d1', 'd2', 'd3']) await pool.disable(id);
    const inFlight = send(host.url, '/x');
    await waitFor('a request on the slow server', () => slow.hits === 1);
    const removal = pool.removeServer('slow');
    await removal.committed;
    expect(pool.records().find((r) => r.id === 'slow')!.admin).to.equal('removing');
    await pool.enable('slow');
    const result = await removal;
    expect(result).to.include({ cancelled: true, removed: false, drained: false });
    expect((await inFlight).status).to.equal(200);
    expect(pool.records().find((r) => r.id === 'slow')!.admin).to.equal('active');
    expect(balancer.snapshot().pools.api!.eligible).to.equal(1);
    await slow.close();
  });

  it('honours the sooner deadline when a second drain is shorter', async () => {
    const stuck = await startBackend('stuck', () => {});
    const pool = balancer.pool('api');
    await pool.addServer({ id: 'stuck', url: stuck.url });
    for (const id of ['d1', 'd2', 'd3']) await pool.disable(id);
    const clientSawEnd = send(host.url, '/x').catch((error: Error) => error.message);
    await waitFor('the request to reach the stuck server', () => stuck.hits === 1);
    const started = Date.now();
    const long = pool.drain('stuck', 5000);
    const short = pool.drain('stuck', 200);
    const [first, second] = await Promise.all([long, short]);
    expect(Date.now() - started).to.be.below(2000);
    expect(first).to.include({ closed: 1, drained: false });
    expect(second).to.deep.equal(first);
    expect(await clientSawEnd).to.match(/socket hang up|ECONNRESET/);
    await stuck.close();
  });

  it('counts a request whose body is still being read, so a drain waits for it and it reaches the server', async () => {
    const pool = balancer.pool('api');
    for (const id of ['d1', 'd3']) await pool.disable(id);
    const { port } = new URL(host.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write('PUT /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nConnection: close\r\n\r\nhalf');
    await waitFor('the request to be counted on d2', () => balancer.snapshot().pools.api!.servers.find((s) => s.id === 'd2')!.active === 1);
    let drainedAt = 0;
    const drain = pool.drain('d2').then((result) => ((drainedAt = Date.now()), result));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(drainedAt, 'the drain waits for the request still reading its body').to.equal(0);
    const bodySentAt = Date.now();
    socket.write(' done');
    const result = await drain;
    expect(result).to.include({ drained: true, closed: 0 });
    expect(drainedAt).to.be.at.least(bodySentAt);
    await waitFor('the answer', () => answer.includes('d2'));
    socket.destroy();
    expect(answer).to.match(/^HTTP\/1\.1 200/);
    expect(answer).to.contain('d2');
  });
});
