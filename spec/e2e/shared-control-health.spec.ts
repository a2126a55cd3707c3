import { expect } from 'chai';
import { Redis } from 'ioredis';
import { echo, startBackends, type Backend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { FleetInstance } from '../support/fleet.js';
import { RedisServer } from '../support/redis-server.js';
import { sleep, waitFor } from '../support/wait.js';

type PoolSnapshot = { servers: Array<{ id: string; health: string }> };

describe('shared health checks: one leader per pool probes, the others apply its results', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let admin: Redis;
  let backends: Backend[];
  let fleet: FleetInstance[] = [];
  const failing = new Set<string>();
  const probes = new Map<string, number>();

  before(async function () {
    requireTool(this, 'redis-server');
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    backends = await startBackends(2, 'h', (req, res, backend) => {
      if (req.url !== '/health') return echo(req, res, backend);
      probes.set(backend.id, (probes.get(backend.id) ?? 0) + 1);
      res.statusCode = failing.has(backend.id) ? 500 : 200;
      res.end();
    });
  });
  after(async () => {
    await Promise.all(fleet.map((instance) => instance.close()));
    admin?.disconnect();
    await redis?.kill();
    await Promise.all((backends ?? []).map((backend) => backend.close()));
  });

  async function healthEverywhere(id: string, health: string, instances = fleet): Promise<boolean> {
    const snapshots = await Promise.all(instances.map((instance) => instance.call<PoolSnapshot>('snapshot')));
    return snapshots.every((pool) => pool.servers.find((server) => server.id === id)?.health === health);
  }

  it('probes from one instance only, spreads a verdict to all, and hands over when the leader dies', async () => {
    fleet = await Promise.all(['i1', 'i2', 'i3'].map((instanceId) => FleetInstance.start({
      instanceId, redis: { url: redis.url }, prefix: 'hc:', servers: backends.map((backend) => ({ id: backend.id, url: backend.url })),
      healthCheck: { type: 'http', path: '/health', intervalMs: 200, timeoutMs: 100, unhealthyThreshold: 2, healthyThreshold: 2 },
    })));
    await waitFor('a leader', async () => (await admin.get('{hc:}lease:health:api')) !== null, 3000, 20);
    await sleep(600); // every instance has joined and stopped probing for itself
    const before = probes.get('h1') ?? 0;
    await sleep(1000);
    const perSecond = (probes.get('h1') ?? 0) - before;
    // one prober at 200 ms ± jitter is about 5 a second; three would be about 15
    expect(perSecond).to.be.within(3, 8);

    failing.add('h1');
    await waitFor('h1 unhealthy on every instance', () => healthEverywhere('h1', 'unhealthy'), 4000, 20);

    const leaderId = (await admin.get('{hc:}lease:health:api'))!;
    const leader = fleet.find((instance) => instance.options.instanceId === leaderId)!;
    await leader.kill();
    const rest = fleet.filter((instance) => instance !== leader);
    failing.delete('h1');
    await waitFor('a new leader', async () => ![null, leaderId].includes(await admin.get('{hc:}lease:health:api')), 4000, 20);
    await waitFor('h1 healthy again on the others', () => healthEverywhere('h1', 'healthy', rest), 4000, 20);
  });
});
