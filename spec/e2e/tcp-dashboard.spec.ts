import { expect } from 'chai';
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { exchange, startEcho, type TcpServer } from '../support/tcp-servers.js';
import { waitFor } from '../support/wait.js';

const AUTH = `Basic ${Buffer.from('ops:pa55word-long-enough').toString('base64')}`;

describe('TCP pools on the dashboard', () => {
  let balancer: Balancer;
  let dashboard: Dashboard;
  let echo: TcpServer;

  beforeEach(async () => {
    echo = await startEcho();
    balancer = createBalancer({
      logger: silentLogger,
      pools: { web: { servers: [{ id: 'w1', url: 'http://127.0.0.1:9' }] }, cache: { protocol: 'tcp', servers: [{ id: 'r1', url: echo.url }] } },
    });
    dashboard = createDashboard(balancer, { auth: { username: 'ops', password: 'pa55word-long-enough' } });
  });

  afterEach(async () => {
    dashboard.close();
    await balancer.close();
    await echo.close();
  });

  it('shows connection columns for a TCP pool and HTTP columns for an HTTP pool', async () => {
    const listener = balancer.listenTcp(0, 'cache', { host: '127.0.0.1' });
    await once(listener, 'listening');
    expect(await exchange((listener.address() as AddressInfo).port, 'x'.repeat(2048))).to.have.length(2048);
    await waitFor('closed', () => balancer.snapshot().pools.cache!.servers[0]!.active === 0);
    const app = express().use('/lb', dashboard);
    const page = (await request(app).get('/lb/').set('authorization', AUTH).expect(200)).text;
    const cacheTable = page.slice(page.indexOf('data-pool="cache"'));
    const webTable = page.slice(page.indexOf('data-pool="web"'), page.indexOf('data-pool="cache"'));
    expect(cacheTable).to.include('conn/s').and.include('bytes in / out').and.include('connect p99');
    expect(cacheTable).to.include('2.0 KiB / 2.0 KiB');
    expect(cacheTable).to.include('tcp · ');
    expect(webTable).to.include('>rps<').and.include('sessions').and.not.include('conn/s');
    const api = await request(app).get('/lb/api/pools').set('authorization', AUTH).expect(200);
    const pools = api.body.pools ?? api.body;
    expect(JSON.stringify(pools)).to.include('"protocol":"tcp"');
  });
});
