import { expect } from 'chai';
import { once } from 'node:events';
import type { AddressInfo, Server as NetServer } from 'node:net';
import Redis from 'ioredis';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { requireTool } from '../support/ci-guard.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

/** Which redis-server a connection reached: its own port, from INFO. */
async function backendPort(client: Redis): Promise<number> {
  const info = await client.info('server');
  return Number(/tcp_port:(\d+)/.exec(info)![1]);
}

describe('TCP pools: Redis behind listenTcp (ioredis, two redis-servers)', function () {
  this.timeout(20000);
  let r1: RedisServer;
  let r2: RedisServer;
  let balancer: Balancer;
  let cache: NetServer;
  let pinned: NetServer;
  const clients: Redis[] = [];

  const client = (server: NetServer): Redis => {
    const redis = new Redis({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, retryStrategy: () => 50, maxRetriesPerRequest: 20, lazyConnect: false });
    redis.on('error', () => {}); // reconnects are the point of some tests
    clients.push(redis);
    return redis;
  };

  before(async function () {
    requireTool(this, 'redis-server');
  });

  beforeEach(async () => {
    [r1, r2] = await Promise.all([RedisServer.start(), RedisServer.start()]);
    const servers = [{ id: 'r1', url: `tcp://127.0.0.1:${r1.port}` }, { id: 'r2', url: `tcp://127.0.0.1:${r2.port}` }];
    const healthCheck = { type: 'tcp' as const, send: 'PING\r\n', expect: '+PONG', intervalMs: 200, timeoutMs: 150, unhealthyThreshold: 1, healthyThreshold: 1 };
    balancer = createBalancer({
      pools: {
        cache: { protocol: 'tcp', servers, healthCheck, drainTimeoutMs: 5000 },
        // pub/sub needs both connections on one server: the same client address hashes to it
        pinned: { protocol: 'tcp', algorithm: 'ip-hash', servers, healthCheck },
      },
    });
    cache = balancer.listenTcp(0, 'cache', { host: '127.0.0.1' });
    pinned = balancer.listenTcp(0, 'pinned', { host: '127.0.0.1' });
    await Promise.all([once(cache, 'listening'), once(pinned, 'listening')]);
    await waitFor('both servers healthy', () => balancer.snapshot().pools.cache!.eligible === 2);
  });

  afterEach(async () => {
    for (const redis of clients.splice(0)) redis.disconnect();
    await balancer.close();
    await Promise.all([r1.kill(), r2.kill()]);
  });

  it('serves commands and pipelines, connections spread over both servers', async () => {
    const a = client(cache);
    const b = client(cache);
    await a.set('k', 'v1');
    expect(await a.get('k')).to.equal('v1');
    const results = await a.pipeline().incr('n').incr('n').incr('n').exec();
    expect(results!.map(([, value]) => value)).to.deep.equal([1, 2, 3]);
    expect(await b.ping()).to.equal('PONG');
    // least-connections: two open connections, one on each server
    expect(new Set([await backendPort(a), await backendPort(b)])).to.deep.equal(new Set([r1.port, r2.port]));
    const servers = balancer.snapshot().pools.cache!.servers;
    expect(servers.map((s) => s.active)).to.deep.equal([1, 1]);
    expect(servers.every((s) => s.tcp!.bytesIn > 0 && s.tcp!.bytesOut > 0)).to.equal(true);
  });

  it('carries pub/sub: a subscriber gets what is published', async () => {
    const subscriber = client(pinned);
    const publisher = client(pinned);
    expect(await backendPort(subscriber)).to.equal(await backendPort(publisher));
    const got: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => got.push(message));
    await subscriber.subscribe('news');
    for (let i = 0; i < 5; i++) await publisher.publish('news', `m${i}`);
    await waitFor('five messages', () => got.length === 5);
    expect(got).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('moves a client to the other server when its server is killed mid-session', async () => {
    const redis = client(cache);
    await redis.set('before', '1');
    const first = await backendPort(redis);
    const victim = first === r1.port ? r1 : r2;
    const survivor = first === r1.port ? r2 : r1;
    await victim.kill();
    // ioredis reconnects through the balancer; the dead server refuses and the other takes it
    await waitFor('a reconnect to the survivor', async () => {
      try {
        return (await backendPort(redis)) === survivor.port;
      } catch {
        return false;
      }
    }, 8000, 50);
    expect(await redis.set('after', '2')).to.equal('OK');
    await waitFor('the killed server marked unhealthy by send/expect', () => balancer.snapshot().pools.cache!.servers.find((s) => s.id === (victim === r1 ? 'r1' : 'r2'))!.health === 'unhealthy');
  });

  it('drains a server: a client holding a connection is closed at the deadline and counted', async () => {
    const redis = client(cache);
    await redis.ping();
    const port = await backendPort(redis);
    const id = port === r1.port ? 'r1' : 'r2';
    const closed = once(redis, 'close');
    const started = Date.now();
    const result = await balancer.pool('cache').drain(id, 400);
    expect(result.drained).to.equal(false);
    expect(result.closed).to.equal(1);
    expect(Date.now() - started).to.be.within(300, 3000);
    await closed;
    await waitFor('the cut counted by cause', () => balancer.snapshot().pools.cache!.servers.find((s) => s.id === id)!.tcp!.closed.drain === 1);
    // the client reconnects, and a draining server takes no new connection
    await waitFor('reconnected', async () => (await redis.ping().catch(() => '')) === 'PONG', 5000, 50);
    expect(await backendPort(redis)).to.not.equal(port);
  });

  it('a drain of an idle server ends at once; weight, disable and enable steer new connections', async () => {
    const result = await balancer.pool('cache').drain('r1', 5000);
    expect(result).to.include({ drained: true, closed: 0 });
    await balancer.pool('cache').enable('r1');
    await balancer.pool('cache').disable('r2');
    const a = client(cache);
    const b = client(cache);
    expect([await backendPort(a), await backendPort(b)]).to.deep.equal([r1.port, r1.port]);
    await balancer.pool('cache').enable('r2');
    await balancer.pool('cache').setWeight('r1', 0);
    const c = client(cache);
    expect(await backendPort(c)).to.equal(r2.port);
    // a removal drains first: the two connections on r1 are cut at its deadline and counted
    const removed = await balancer.pool('cache').removeServer('r1', 200);
    expect(removed).to.include({ closed: 2, removed: true });
    await balancer.pool('cache').addServer({ id: 'r1b', url: `tcp://127.0.0.1:${r1.port}` });
    await waitFor('the added server checked healthy', () => balancer.snapshot().pools.cache!.servers.find((s) => s.id === 'r1b')?.health === 'healthy');
  });
});
