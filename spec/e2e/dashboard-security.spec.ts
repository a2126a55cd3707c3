import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard } from '../../dashboard/index.js';
import type { DashboardOptions } from '../../dashboard/options.js';

const USER = 'ops';
const PASSWORD = 'correct horse battery';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const GOOD = basic(USER, PASSWORD);

function csrfOf(html: string): string {
  const match = /<meta name="csrf-token" content="([^"]+)">/.exec(html);
  if (!match) throw new Error('no csrf meta tag in the page');
  return match[1]!;
}

describe('dashboard security', () => {
  let balancer: Balancer;

  before(() => {
    balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { servers: [{ id: 'a1', url: 'http://127.0.0.1:9' }, { id: 'a2', url: 'http://127.0.0.1:10' }] } },
    });
  });

  after(() => balancer.close());

  function app(options: DashboardOptions = { auth: { username: USER, password: PASSWORD } }) {
    const dashboard = createDashboard(balancer, options);
    const host = express();
    host.use('/admin', dashboard);
    host.get('/public', (req, res) => res.send('public'));
    return { host, dashboard };
  }

  describe('authentication', () => {
    it('asks for credentials, refuses wrong ones and lets the right ones in', async () => {
      const { host } = app();
      const missing = await request(host).get('/admin/api/pools').expect(401);
      expect(missing.headers['www-authenticate']).to.match(/^Basic realm="switchyard"/);
      expect(missing.body).to.deep.equal({ error: 'authentication required', status: 401 });
      await request(host).get('/admin/api/pools').set('authorization', basic(USER, 'wrong')).expect(401);
      await request(host).get('/admin/api/pools').set('authorization', basic('root', PASSWORD)).expect(401);
      await request(host).get('/admin/api/pools').set('authorization', 'Bearer abc').expect(401);
      await request(host).get('/admin/api/pools').set('authorization', GOOD).expect(200);
    });

    it('guards every dashboard path, static files and the stream included, but nothing of the host app', async () => {
      const { host } = app();
      for (const path of ['/admin/', '/admin/events', '/admin/metrics', '/admin/api/audit', '/admin/static/dashboard.js', '/admin/api/nope']) {
        await request(host).get(path).expect(401);
      }
      await request(host).get('/public').expect(200, 'public');
    });

    it('rate limits failed logins per client address: 429 with Retry-After, even for right credentials', async () => {
      const { host } = app({ auth: { username: USER, password: PASSWORD }, loginLimit: { max: 10, windowMs: 60_000 } });
      for (let i = 0; i < 10; i++) await request(host).get('/admin/api/pools').set('authorization', basic(USER, `guess-${i}`)).expect(401);
      const limited = await request(host).get('/admin/api/pools').set('authorization', basic(USER, 'guess-10')).expect(429);
      expect(Number(limited.headers['retry-after'])).to.be.within(50, 60);
      await request(host).get('/admin/api/pools').set('authorization', GOOD).expect(429);
    });

    it('forgets earlier failures after a good login', async () => {
      const { host } = app({ auth: { username: USER, password: PASSWORD }, loginLimit: { max: 3 } });
      for (let i = 0; i < 2; i++) await request(host).get('/admin/api/pools').set('authorization', basic(USER, 'x')).expect(401);
      await request(host).get('/admin/api/pools').set('authorization', GOOD).expect(200);
      for (let i = 0; i < 2; i++) await request(host).get('/admin/api/pools').set('authorization', basic(USER, 'x')).expect(401);
      await request(host).get('/admin/api/pools').set('authorization', GOOD).expect(200);
    });

    it('accepts an async authorize hook; its user name is who the audit log records', async () => {
      const { host, dashboard } = app({ authorize: async (req) => (req.headers['x-user'] === 'alice' ? 'alice' : false) });
      await request(host).get('/admin/api/pools').expect(401);
      await request(host).get('/admin/api/pools').set('x-user', 'mallory').expect(401);
      const page = await request(host).get('/admin/').set('x-user', 'alice').expect(200);
      expect(page.text).to.contain('signed in as <strong>alice</strong>');
      await request(host).post('/admin/api/pools/api/servers/a1/weight').set('x-user', 'alice').set('x-csrf-token', csrfOf(page.text)).send({ weight: 2 }).expect(200);
      expect(dashboard.audit.recent()[0]).to.include({ user: 'alice', action: 'weight', before: 1, after: 2 });
      balancer.pool('api').setWeight('a1', 1);
    });

    it('takes a sync hook answering true, and with basic auth both must pass', async () => {
      const { host } = app({ auth: { username: USER, password: PASSWORD }, authorize: (req) => req.headers['x-vpn'] === '1' });
      await request(host).get('/admin/api/pools').set('x-vpn', '1').expect(401);
      await request(host).get('/admin/api/pools').set('authorization', GOOD).expect(403);
      await request(host).get('/admin/api/pools').set('authorization', GOOD).set('x-vpn', '1').expect(200);
    });

    it('answers 500 when the hook throws, and does not let the request in', async () => {
      const errors: string[] = [];
      const logger = { warn: () => {}, error: (message: string) => errors.push(message) };
      const { host } = app({ logger, authorize: () => { throw new Error('hook bug'); } });
      const res = await request(host).get('/admin/api/pools').expect(500);
      expect(res.body).to.deep.equal({ error: 'internal error', status: 500 });
      expect(errors).to.deep.equal(['dashboard: request failed']);
    });

    it('counts refusals of the hook as failed logins too', async () => {
      const { host } = app({ authorize: () => false, loginLimit: { max: 2 } });
      await request(host).get('/admin/api/pools').expect(401);
      await request(host).get('/admin/api/pools').expect(401);
      await request(host).get('/admin/api/pools').expect(429);
    });

    it('serves without authentication only with insecure: true', async () => {
      expect(() => createDashboard(balancer)).to.throw(/dashboard\.auth: .*needs authentication/);
      expect(() => createDashboard(balancer, {})).to.throw(/insecure: true/);
      const { host, dashboard } = app({ insecure: true });
      const page = await request(host).get('/admin/').expect(200);
      expect(page.text).to.contain('signed in as <strong>anonymous</strong>');
      await request(host).post('/admin/api/pools/api/servers/a2/disable').expect(403); // CSRF still applies
      await request(host).post('/admin/api/pools/api/servers/a2/disable').set('x-csrf-token', csrfOf(page.text)).expect(200);
      await request(host).post('/admin/api/pools/api/servers/a2/enable').set('x-csrf-token', csrfOf(page.text)).expect(200);
      expect(dashboard.audit.recent(2).map((entry) => `${entry.user} ${entry.action}`)).to.deep.equal(['anonymous enable', 'anonymous disable']);
    });
  });

  describe('CSRF', () => {
    const routes: Array<[method: 'post' | 'delete', path: string, body?: object]> = [
      ['post', '/admin/api/pools/api/servers/a1/weight', { weight: 5 }],
      ['post', '/admin/api/pools/api/servers/a1/drain'],
      ['post', '/admin/api/pools/api/servers/a1/enable'],
      ['post', '/admin/api/pools/api/servers/a1/disable'],
      ['post', '/admin/api/pools/api/servers', { id: 'csrf', url: 'http://127.0.0.1:11' }],
      ['delete', '/admin/api/pools/api/servers/a1'],
      ['post', '/admin/api/pools/api/servers/a1/remove'],
    ];

    it('refuses every state-changing route without the token, or with another user\'s, and changes nothing', async () => {
      const { host } = app();
      const before = JSON.stringify(balancer.pool('api').snapshot().servers.map(({ id, state, weight }) => ({ id, state, weight })));
      for (const [method, path, body] of routes) {
        const missing = await request(host)[method](path).set('authorization', GOOD).send(body ?? {}).expect(403);
        expect(missing.body.error).to.match(/CSRF/);
        await request(host)[method](path).set('authorization', GOOD).set('x-csrf-token', 'forged').send(body ?? {}).expect(403);
      }
      const other = createDashboard(balancer, { auth: { username: USER, password: PASSWORD } });
      const otherHost = express().use('/admin', other);
      const otherToken = csrfOf((await request(otherHost).get('/admin/').set('authorization', GOOD)).text);
      await request(host).post(routes[0]![1]).set('authorization', GOOD).set('x-csrf-token', otherToken).send({ weight: 5 }).expect(403);
      const after = JSON.stringify(balancer.pool('api').snapshot().servers.map(({ id, state, weight }) => ({ id, state, weight })));
      expect(after).to.equal(before);
    });

    it('takes a form\'s hidden _csrf field and redirects back to the page, relatively', async () => {
      const { host } = app();
      const token = csrfOf((await request(host).get('/admin/').set('authorization', GOOD)).text);
      await request(host).post('/admin/api/pools/api/servers/a1/weight').set('authorization', GOOD).type('form').send({ weight: '4' }).expect(403);
      const res = await request(host)
        .post('/admin/api/pools/api/servers/a1/weight')
        .set('authorization', GOOD)
        .set('accept', 'text/html')
        .type('form')
        .send({ weight: '4', _csrf: token })
        .expect(303);
      expect(res.headers.location).to.equal('../../../../../');
      expect(new URL(res.headers.location!, 'http://h/admin/api/pools/api/servers/a1/weight').pathname).to.equal('/admin/');
      expect(balancer.pool('api').snapshot().servers[0]).to.include({ weight: 4 });
      balancer.pool('api').setWeight('a1', 1);
    });
  });

  describe('headers', () => {
    it('sends the CSP and friends on the page, the API, static files and refusals', async () => {
      const { host } = app();
      for (const [path, authorization] of [['/admin/', GOOD], ['/admin/api/pools', GOOD], ['/admin/metrics', GOOD], ['/admin/static/dashboard.css', GOOD], ['/admin/', '']] as const) {
        const res = await request(host).get(path).set('authorization', authorization);
        expect(res.headers['content-security-policy'], path).to.contain(
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        );
        expect(res.headers['x-content-type-options'], path).to.equal('nosniff');
        expect(res.headers['referrer-policy'], path).to.equal('no-referrer');
      }
      for (const path of ['/admin/', '/admin/api/pools', '/admin/api/audit', '/admin/metrics']) {
        expect((await request(host).get(path).set('authorization', GOOD)).headers['cache-control'], path).to.equal('no-store');
      }
    });

    it('has no inline script or style in the page, which the CSP would block', async () => {
      const { host } = app();
      const { text } = await request(host).get('/admin/').set('authorization', GOOD).expect(200);
      expect(text).not.to.match(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(text).not.to.match(/\sstyle=|<style|\son[a-z]+=/i);
      expect(text).not.to.match(/(src|href|action)="(https?:)?\/\//); // no CDN, nothing external
    });
  });

  describe('escaping', () => {
    it('escapes ids, pool names and URLs in the HTML', async () => {
      const hostile = createBalancer({
        logger: silentLogger,
        pools: {
          '<img src=x onerror=alert(1)>': { servers: [{ id: '<img/src=x/onerror=alert(2)>', url: 'http://127.0.0.1:9' }, { id: '"><script>alert(3)</script>', url: 'http://127.0.0.1:10' }] },
        },
      });
      try {
        const dashboard = createDashboard(hostile, { insecure: true });
        const { text } = await request(express().use('/admin', dashboard)).get('/admin/').expect(200);
        expect(text).not.to.contain('<img');
        expect(text).not.to.contain('<script>alert');
        expect(text).to.contain('&lt;img src=x onerror=alert(1)&gt;');
        expect(text).to.contain('&lt;img/src=x/onerror=alert(2)&gt;');
        expect(text).to.contain('&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;');
        expect(text).to.contain('api/pools/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/servers/%3Cimg%2Fsrc%3Dx%2Fonerror%3Dalert(2)%3E/drain');
      } finally {
        await hostile.close();
      }
    });
  });
});
