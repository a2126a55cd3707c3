import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import express from 'express';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { ConfigError } from '../../middleware/errors.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { listen, startBackends, type Backend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { marker, snippetsOf } from '../packaging/snippets.js';
import { packageRoot } from '../../dashboard/package-root.js';

const USER = { username: 'ops', password: 'tokens-spec-password' };
const BASIC = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
const TOKEN = randomBytes(24).toString('base64url'); // 32 characters
const OTHER_TOKEN = randomBytes(32).toString('hex');

describe('dashboard bearer tokens for machine clients of api/', () => {
  let backends: Backend[];
  let balancer: Balancer;
  let dashboard: Dashboard;
  let host: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    backends = await startBackends(2, 't');
  });

  after(() => Promise.all(backends.map((b) => b.close())));

  beforeEach(async () => {
    balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
      routes: [{ path: '/api', pool: 'api' }],
    });
    dashboard = createDashboard(balancer, {
      auth: { ...USER, tokens: [{ name: 'deploy-bot', token: TOKEN }, { name: 'ci', token: OTHER_TOKEN }] },
      loginLimit: { max: 3, windowMs: 60_000 },
      // tells the clients of this spec apart, as a trusted proxy's X-Forwarded-For would
      clientAddress: (req) => String(req.headers['x-test-client'] ?? req.socket.remoteAddress),
    });
    const app = express();
    app.use('/admin', dashboard);
    app.use(balancer.express());
    host = await listen(app);
  });

  afterEach(async () => {
    dashboard.close();
    await host.close();
    await balancer.close();
  });

  const weightOf = (id: string) => balancer.pool('api').snapshot().servers.find((s) => s.id === id)!.weight;
  const bearer = (token: string) => `Bearer ${token}`;

  it('lets a token in to api/ with no session and no CSRF token, and records its name in the audit log', async () => {
    const pools = await request(host.url).get('/admin/api/pools').set('authorization', bearer(TOKEN)).expect(200);
    expect(pools.body.pools.api.servers).to.have.length(2);

    const res = await request(host.url).post('/admin/api/pools/api/servers/t1/weight').set('authorization', bearer(TOKEN)).send({ weight: 4 }).expect(200);
    expect(res.body.server).to.include({ id: 't1', weight: 4 });
    expect(weightOf('t1')).to.equal(4);
    await request(host.url).post('/admin/api/pools/api/servers/t2/disable').set('authorization', bearer(OTHER_TOKEN)).expect(200);
    const audit = await request(host.url).get('/admin/api/audit').set('authorization', bearer(TOKEN)).expect(200);
    expect(audit.body.entries.map((e: { user: string; action: string; server: string }) => [e.user, e.action, e.server])).to.deep.equal([['ci', 'disable', 't2'], ['deploy-bot', 'weight', 't1']]);

    // the same request with basic auth, a browser's credentials, still needs the CSRF token
    await request(host.url).post('/admin/api/pools/api/servers/t1/weight').set('authorization', BASIC).send({ weight: 7 }).expect(403);
    expect(weightOf('t1')).to.equal(4);
  });

  it('curl reweights a server with the bearer token alone', async function () {
    requireTool(this, 'curl');
    const { stdout } = await promisify(execFile)('/usr/bin/curl', [
      '-sS', '-X', 'POST',
      '-H', `Authorization: Bearer ${TOKEN}`,
      '-H', 'content-type: application/json',
      '-d', '{"weight": 5}',
      '-w', '\n%{http_code}',
      `${host.url}/admin/api/pools/api/servers/t2/weight`,
    ]);
    const [body, status] = stdout.split('\n');
    expect(status).to.equal('200');
    expect(JSON.parse(body!).server).to.include({ id: 't2', weight: 5 });
    expect(weightOf('t2')).to.equal(5);
    expect(dashboard.audit.recent(1)[0]).to.include({ user: 'deploy-bot', action: 'weight', server: 't2', before: 1, after: 5 });
  });

  it("runs README.md's bearer-token curl example as written", async function () {
    requireTool(this, 'curl');
    const example = snippetsOf('README.md', packageRoot()).find((snippet) => marker(snippet, 'bearer-curl') !== undefined);
    expect(example, 'a block marked <!-- snippet: bearer-curl -->').to.not.equal(undefined);
    const script = example!.code.replaceAll('http://localhost:3000', host.url).replaceAll('/servers/api-1/', '/servers/t1/');
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, DEPLOY_TOKEN: TOKEN } });
    expect(JSON.parse(stdout)).to.have.nested.property('server.weight', 3);
    expect(weightOf('t1')).to.equal(3);
    expect(dashboard.audit.recent(1)[0]).to.include({ user: 'deploy-bot', server: 't1' });
  });

  it('answers a wrong token 401 with a Bearer challenge, changes nothing, and limits guessing per address', async () => {
    const wrong = await request(host.url).post('/admin/api/pools/api/servers/t1/weight').set('authorization', bearer(`${TOKEN.slice(0, -1)}${TOKEN.endsWith('x') ? 'y' : 'x'}`)).send({ weight: 9 }).expect(401);
    expect(wrong.headers['www-authenticate']).to.match(/^Bearer realm="switchyard"/);
    expect(wrong.body).to.deep.equal({ error: 'wrong bearer token', status: 401 });
    expect(weightOf('t1')).to.equal(1);
    expect(dashboard.audit.recent(10)).to.deep.equal([]);

    // loginLimit.max is 3: two more guesses, then even the right token waits
    for (let i = 0; i < 2; i++) await request(host.url).get('/admin/api/pools').set('authorization', bearer(randomBytes(32).toString('hex'))).expect(401);
    const limited = await request(host.url).get('/admin/api/pools').set('authorization', bearer(TOKEN)).expect(429);
    expect(Number(limited.headers['retry-after'])).to.be.within(1, 60);
    // per address and user: another client's token, and an operator's login from the same address, still work
    await request(host.url).get('/admin/api/pools').set('x-test-client', '10.0.0.7').set('authorization', bearer(TOKEN)).expect(200);
    await request(host.url).get('/admin/api/pools').set('authorization', BASIC).expect(200);
  });

  it('never takes a token for the page, its live stream or its metrics', async () => {
    for (const path of ['/admin/', '/admin/events', '/admin/metrics']) {
      const res = await request(host.url).get(path).set('authorization', bearer(TOKEN)).expect(401);
      expect(res.headers['www-authenticate'], path).to.match(/^Basic /);
    }
    await request(host.url).get('/admin/').set('authorization', BASIC).expect(200);
  });

  it('refuses a token shorter than 32 characters, or a missing one, at mount with the option path', () => {
    for (const [token, got] of [['too-short-a-token', /got 17 characters/], [undefined, /got undefined/]] as const) {
      let thrown: unknown;
      try {
        createDashboard(balancer, { auth: { ...USER, tokens: [{ name: 'deploy-bot', token: token as unknown as string }] } });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(ConfigError);
      expect((thrown as ConfigError).path).to.equal('dashboard.auth.tokens[0].token');
      expect((thrown as ConfigError).message).to.match(/^dashboard\.auth\.tokens\[0\]\.token: expected a string of at least 32 characters/).and.match(got);
      // the message may be logged: it never repeats the token
      if (token) expect((thrown as ConfigError).message).to.not.contain(token);
    }
  });
});
