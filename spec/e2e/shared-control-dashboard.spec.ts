import { expect } from 'chai';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createDashboard } from '../../dashboard/index.js';
import { createBalancer, RedisControlStore, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { startBackends, type Backend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const AUTH = `Basic ${Buffer.from('ops:pa55word-long-enough').toString('base64')}`;

describe('dashboard fleet line over a shared control store', function () {
  this.timeout(15_000);
  let redis: RedisServer;
  let backends: Backend[];
  const clients: Redis[] = [];
  const balancers: Balancer[] = [];

  before(async function () {
    requireTool(this, 'redis-server');
    redis = await RedisServer.start();
    backends = await startBackends(1, 'a');
  });
  after(async () => {
    await Promise.all(balancers.map((balancer) => balancer.close()));
    for (const client of clients) client.disconnect();
    await redis?.kill();
    await Promise.all((backends ?? []).map((backend) => backend.close()));
  });

  function start(instanceId: string): Balancer {
    const client = new Redis(redis.url, { retryStrategy: () => 50 });
    client.on('error', () => {});
    clients.push(client);
    const balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { servers: backends.map((backend) => ({ id: backend.id, url: backend.url })) } },
      control: { store: new RedisControlStore(client, { prefix: 'dash:', heartbeatMs: 100 }), instanceId },
    });
    balancers.push(balancer);
    return balancer;
  }

  it('says converged on N/N, then that the store is unavailable and changes are refused', async () => {
    const one = start('one');
    start('two');
    const app = express();
    app.use('/admin', createDashboard(one, { auth: { username: 'ops', password: 'pa55word-long-enough' } }));
    await waitFor('two instances seen', () => one.instances().length === 2 && one.controlStatus().available, 3000, 20);
    const page = await request(app).get('/admin/').set('authorization', AUTH).expect(200);
    expect(page.text).to.match(/data-fleet-state="converged">converged on 2\/2 instances/);
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.text)![1]!;

    await redis.kill();
    await waitFor('store away', () => !one.controlStatus().available, 3000, 10);
    const down = await request(app).get('/admin/').set('authorization', AUTH).expect(200);
    expect(down.text).to.match(/data-fleet-state="unavailable">control store unavailable \(STORE_UNAVAILABLE\)/);
    const refused = await request(app).post('/admin/api/pools/api/servers/a1/weight').set('authorization', AUTH).set('x-csrf-token', token).send({ weight: 3 });
    expect(refused.status).to.equal(503);
    expect(JSON.stringify(refused.body)).to.contain('control store cannot be reached');
    await redis.restart();
    await waitFor('store back', () => one.controlStatus().available, 5000, 20);
  });
});
