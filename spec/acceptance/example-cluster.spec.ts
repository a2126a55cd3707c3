import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { requireTool } from '../support/ci-guard.js';
import { waitFor } from '../support/wait.js';

const AUTH = `Basic ${Buffer.from('ops:cluster-password').toString('base64')}`;

/** One request on a fresh connection, so that node:cluster may hand it to any worker. */
function fetchText(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: { authorization: AUTH, ...init.headers }, agent: init.agent ?? false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('example app as a node:cluster fleet (npm run start:cluster)', function () {
  this.timeout(30_000);
  let child: ChildProcess | undefined;
  let base = '';

  before(async function () {
    requireTool(this, 'redis-server');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [join(__dirname, '..', '..', 'example-app', 'cluster.js')], {
      env: { ...process.env, PORT: String(port), CLUSTER: '3', DEMO_TRAFFIC: 'off', DASHBOARD_PASSWORD: 'cluster-password', REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('workers sharing control state')) await once(child.stdout!, 'data');
  });

  after(async () => {
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('shares one control state between its workers: a weight set on one is served by all, and the fleet line counts them', async () => {
    await waitFor('converged on 3/3', async () => /converged on 3\/3 instances/.test((await fetchText(`${base}/admin/`)).text), 10_000, 100);
    // one kept-alive connection = one worker, for the page and its CSRF token
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const page = await fetchText(`${base}/admin/`, { agent });
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.text)![1]!;
    const set = await fetchText(`${base}/admin/api/pools/api/servers/api-2/weight`, { method: 'POST', agent, headers: { 'x-csrf-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ weight: 7 }) });
    agent.destroy();
    expect(set.status).to.equal(200);
    const seen = new Set<string>();
    await waitFor('weight 7 on every worker asked', async () => {
      for (let i = 0; i < 12; i++) {
        const snapshot = JSON.parse((await fetchText(`${base}/admin/api/pools`)).text) as { instance: string; pools: { api: { servers: Array<{ id: string; weight: number }> } } };
        if (snapshot.pools.api.servers.find((server) => server.id === 'api-2')!.weight !== 7) return false;
        seen.add(snapshot.instance);
      }
      return true;
    }, 5000, 50);
    expect(seen.size, 'answers came from more than one worker').to.be.greaterThan(1);
  });
});
