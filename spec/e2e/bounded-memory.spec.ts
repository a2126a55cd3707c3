import { expect } from 'chai';
import Redis from 'ioredis';
import http from 'node:http';
import type net from 'node:net';
import { createBalancer, RedisAffinityStore, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { startBackend, startBackends, type Backend, type Handler } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { send, startHost, type Host } from '../support/hosts.js';
import { RedisServer } from '../support/redis-server.js';

/** Hostile traffic must not grow what the balancer keeps: sessions in the store, bodies held for retries. */
describe('bounded memory under hostile traffic', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('leaves the Redis store at most a few hundred keys larger after 100,000 cookie-less requests', async function () {
    requireTool(this, 'redis-server');
    this.timeout(120_000);
    const redis = await RedisServer.start();
    const client = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const backends = await startBackends(3, 'm');
    const balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { sticky: true, servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
      sticky: { secret: 'a-secret-of-at-least-16-chars', store: new RedisAffinityStore(client) },
    });
    const host = await startHost('wrap', balancer);
    cleanups.push(async () => redis.kill(), async () => client.disconnect(), () => Promise.all(backends.map((b) => b.close())).then(() => {}), () => balancer.close(), () => host.close());

    const before = await client.dbsize();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const { port } = new URL(host.url);
    let sent = 0;
    let failed = 0;
    let cookies = 0;
    const one = (): Promise<void> => new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/api/bot', agent }, (res) => {
        if (res.statusCode !== 200) failed++;
        if (res.headers['set-cookie']) cookies++;
        res.resume();
        res.on('end', resolve);
      }).on('error', () => {
        failed++;
        resolve();
      });
    });
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (sent < 100_000) {
        sent++;
        await one();
      }
    }));
    agent.destroy();
    const after = await client.dbsize();
    expect(failed).to.equal(0);
    expect(cookies, 'every new client was offered a cookie').to.equal(100_000);
    expect(after - before, 'store keys added').to.be.at.most(300);
  });

  it('holds request bodies for retries only up to maxBufferedBytes; past it they stream and are not retried', async () => {
    // both servers cut every reused keep-alive connection: only a held body can be resent
    const requestsOn = new WeakMap<net.Socket, number>();
    const cutting: Handler = (req, res, self) => {
      const seen = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, seen);
      if (seen > 1) return void req.socket.destroy();
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ backend: self.id })));
    };
    const servers: Backend[] = await Promise.all(['a', 'b'].map((id) => startBackend(id, cutting)));
    const proxy = async (maxBufferedBytes: number): Promise<{ balancer: Balancer; host: Host }> => {
      const balancer = createBalancer({ logger: silentLogger, maxBufferedBytes, pools: { api: { servers: servers.map((s) => ({ id: s.id, url: s.url })) } } });
      const host = await startHost('wrap', balancer);
      cleanups.push(() => balancer.close(), () => host.close());
      return { balancer, host };
    };
    cleanups.push(() => Promise.all(servers.map((s) => s.close())).then(() => {}));
    const put = (host: Host) => send(host.url, '/doc', { method: 'PUT', body: 'x'.repeat(1000), headers: { 'content-type': 'text/plain' } });

    for (const [cap, expected] of [[64 * 1024, 200], [100, 502]] as const) {
      const { host } = await proxy(cap);
      const agentless = await Promise.all([send(host.url, '/warm'), send(host.url, '/warm')]);
      expect(agentless.map((r) => r.status)).to.deep.equal([200, 200]);
      expect((await put(host)).status, `a 1000-byte PUT with a ${cap}-byte cap`).to.equal(expected);
    }
  });
});
