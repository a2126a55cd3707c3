import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import request from 'supertest';
import { createExampleApp, type ExampleApp } from '../../example-app/app.js';
import { listen } from '../support/backends.js';

describe('example app', () => {
  let example: ExampleApp;
  let host: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    example = await createExampleApp({ password: 'example-password' });
    host = await listen(example.app);
    // the api servers are health-checked: they take traffic after their first passed check
    while (example.balancer.snapshot().pools.api!.eligible < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  after(async () => {
    await host.close();
    await example.close();
  });

  it('rotates /api over api-1 and api-2', async () => {
    const servedBy: string[] = [];
    for (let i = 0; i < 4; i++) servedBy.push(((await request(host.url).get('/api/hello').expect(200)).body as { server: string }).server);
    expect(servedBy).to.deep.equal(['api-1', 'api-2', 'api-1', 'api-2']);
  });

  it('sends /static to static-1 with the prefix stripped', async () => {
    const res = await request(host.url).get('/static/logo.png').expect(200);
    expect(res.body).to.include({ server: 'static-1', path: '/logo.png' });
  });

  it('keeps a client with its cookie on one server', async () => {
    const first = await request(host.url).get('/api/cart').expect(200);
    const cookie = first.headers['set-cookie']![0]!.split(';')[0]!;
    for (let i = 0; i < 4; i++) {
      const res = await request(host.url).get('/api/cart').set('cookie', cookie).expect(200);
      expect(res.body.server).to.equal(first.body.server);
    }
  });

  it('serves the dashboard at /admin, behind its credentials', async () => {
    await request(host.url).get('/admin/').expect(401);
    const page = await request(host.url).get('/admin/').auth('ops', 'example-password').expect(200);
    expect(page.text).to.include('api-1').and.include('static-1');
    const pools = await request(host.url).get('/admin/api/pools').auth('ops', 'example-password').expect(200);
    expect(Object.keys(pools.body.pools)).to.deep.equal(['api', 'static']);
  });

  it('keeps the host app\'s own routes', async () => {
    const res = await request(host.url).get('/').expect(200);
    expect(res.text).to.match(/switchyard example/);
  });

  it('starts on PORT, prints its URLs, and stops on Ctrl-C', async function () {
    this.timeout(15000);
    const main = join(__dirname, '../../example-app/main.js');
    const child = spawn(process.execPath, [main], { env: { ...process.env, PORT: '0', DASHBOARD_PASSWORD: 'printed-password' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('Ctrl-C')) await once(child.stdout, 'data');
    expect(output).to.match(/demo server api-1 +http:\/\/127\.0\.0\.1:\d+/).and.match(/curl -s http:\/\/localhost:\d+\/api\/hello/);
    expect(output).to.match(/\/admin\/ +→ the dashboard: user ops, password printed-password/);
    // the trickle of demo traffic reaches the servers
    const port = /localhost:(\d+)/.exec(output)![1];
    const deadline = Date.now() + 5000;
    let requests = 0;
    while (requests === 0 && Date.now() < deadline) {
      const pools = await request(`http://127.0.0.1:${port}`).get('/admin/api/pools').auth('ops', 'printed-password');
      requests = (pools.body.pools.api.servers as Array<{ requests: number }>).reduce((sum, server) => sum + server.requests, 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(requests).to.be.above(0);
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).to.equal(0);
  });
});
