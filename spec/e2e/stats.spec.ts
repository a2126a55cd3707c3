import { expect } from 'chai';
import http from 'node:http';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { refusedUrl, startBackend, type Backend } from '../support/backends.js';
import { send, startHost, type Host } from '../support/hosts.js';

/** POST a body in chunks, without Content-Length. */
function postChunked(base: string, path: string, chunks: string[]): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('per-server stats in snapshot()', () => {
  let backend: Backend;
  let balancer: Balancer;
  let host: Host;

  before(async () => {
    backend = await startBackend('s1', (req, res) => {
      const status = Number(req.url!.slice(1)) || 200;
      if (req.url === '/hang') return; // never answers
      req.resume();
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('hello');
    });
    balancer = createBalancer({
      logger: silentLogger,
      pools: {
        api: { retries: 0, timeouts: { responseMs: 100 }, servers: [{ id: 's1', url: backend.url }] },
        dead: { servers: [{ id: 'gone', url: await refusedUrl() }] },
      },
      routes: [{ path: '/dead', pool: 'dead' }, { path: '/', pool: 'api' }],
    });
    host = await startHost('wrap', balancer);
    for (let i = 0; i < 6; i++) await send(host.url, '/200', { method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain' } });
    await postChunked(host.url, '/200', ['ab', 'cde']);
    await send(host.url, '/404');
    await send(host.url, '/503');
    await send(host.url, '/hang');
    await send(host.url, '/dead');
  });

  after(async () => {
    await host.close();
    await balancer.close();
    await backend.close();
  });

  it('counts requests, errors by class and bytes', () => {
    const { pools } = balancer.snapshot();
    const s1 = pools.api!.servers[0]!;
    expect(s1.requests).to.equal(10);
    expect(s1.errors).to.deep.equal({ connect: 0, timeout: 1, reset: 0, invalid: 0, http5xx: 1, http4xx: 1 });
    expect(s1.bytesIn).to.equal(23); // six 3-byte bodies, and one of 5 bytes in chunks
    expect(s1.bytesOut).to.equal(45); // nine 5-byte answers
    expect(pools.dead!.servers[0]!.errors.connect).to.equal(1);
  });

  it('reports latency percentiles and a histogram', () => {
    const s1 = balancer.snapshot().pools.api!.servers[0]!;
    expect(s1.latencyMs.p50).to.be.a('number').and.above(0);
    expect(s1.latencyMs.p99).to.be.at.least(s1.latencyMs.p50!);
    expect(s1.latency.count).to.equal(9); // the timed-out request has no latency
    expect(s1.active).to.equal(0);
  });

  it('is plain JSON: nothing lost in a round trip', () => {
    const snapshot = balancer.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).to.deep.equal(snapshot);
  });
});
