import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { listen } from '../support/backends.js';

const AUTH = `Basic ${Buffer.from('ops:pa55word-long-enough').toString('base64')}`;
const csrfOf = (html: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(html)![1]!;

describe('mounting the dashboard', () => {
  let balancer: Balancer;
  let dashboard: Dashboard;

  beforeEach(() => {
    balancer = createBalancer({ logger: silentLogger, pools: { api: { servers: [{ id: 'a1', url: 'http://127.0.0.1:9' }] } } });
    dashboard = createDashboard(balancer, { auth: { username: 'ops', password: 'pa55word-long-enough' } });
  });

  afterEach(async () => {
    dashboard.close();
    await balancer.close();
  });

  describe('in Express', () => {
    it('works below a nested mount path with relative links only', async () => {
      const app = express();
      const ops = express.Router();
      ops.use('/lb', dashboard);
      app.use('/ops', ops);
      const page = await request(app).get('/ops/lb/').set('authorization', AUTH).expect(200);
      for (const link of page.text.matchAll(/(?:href|src|action|formaction)="([^"]*)"/g)) {
        const relative = link[1]!.startsWith('data:') || !/^([a-z][a-z0-9+.-]*:|\/)/i.test(link[1]!);
        expect(relative, `${link[1]} is relative`).to.equal(true);
      }
      await request(app).get('/ops/lb/static/dashboard.js').set('authorization', AUTH).expect(200).expect('content-type', /javascript/);
      await request(app).get('/ops/lb/static/dashboard.css').set('authorization', AUTH).expect(200).expect('content-type', /text\/css/);
      await request(app).get('/ops/lb/static/../package.json').set('authorization', AUTH).expect(404);
      await request(app).get('/ops/lb/static/nope.js').set('authorization', AUTH).expect(404);
    });

    it('redirects the mount point without its slash to the page, relatively', async () => {
      const app = express().use('/admin', dashboard);
      const res = await request(app).get('/admin').set('authorization', AUTH).expect(303);
      expect(res.headers.location).to.equal('admin/');
    });

    it('at "/" it guards only its own paths and leaves the app\'s routes alone', async () => {
      const app = express();
      app.use(dashboard);
      app.get('/hello', (req, res) => res.send('hello'));
      await request(app).get('/').expect(401);
      await request(app).get('/api/pools').expect(401);
      await request(app).get('/').set('authorization', AUTH).expect(200);
      await request(app).get('/hello').expect(200, 'hello');
      await request(app).get('/nope').expect(404);
    });

    it('works after the host app\'s own body parsers', async () => {
      const app = express();
      app.use(express.json(), express.urlencoded({ extended: false }));
      app.use('/admin', dashboard);
      const token = csrfOf((await request(app).get('/admin/').set('authorization', AUTH)).text);
      await request(app).post('/admin/api/pools/api/servers/a1/weight').set('authorization', AUTH).set('x-csrf-token', token).send({ weight: 7 }).expect(200);
      expect(balancer.pool('api').snapshot().servers[0]!.weight).to.equal(7);
      await request(app).post('/admin/api/pools/api/servers/a1/weight').set('authorization', AUTH).type('form').send({ weight: '2', _csrf: token }).expect(200);
      expect(balancer.pool('api').snapshot().servers[0]!.weight).to.equal(2);
    });
  });

  describe('in Koa', () => {
    let server: Awaited<ReturnType<typeof listen>>;

    beforeEach(async () => {
      const app = new Koa();
      app.use(dashboard.koa('/admin'));
      app.use((ctx) => {
        ctx.body = `koa:${ctx.path}`;
      });
      server = await listen(app.callback());
    });

    afterEach(() => server.close());

    it('serves the page, the API and static files under the mount path, with auth and headers', async () => {
      await request(server.url).get('/admin/').expect(401);
      const page = await request(server.url).get('/admin/').set('authorization', AUTH).expect(200).expect('content-type', /text\/html/);
      expect(page.headers['content-security-policy']).to.contain("script-src 'self'");
      expect(page.text).to.contain('data-pool="api"');
      const res = await request(server.url).post('/admin/api/pools/api/servers/a1/weight').set('authorization', AUTH).set('x-csrf-token', csrfOf(page.text)).send({ weight: 4 }).expect(200);
      expect(res.body.server).to.include({ weight: 4 });
      await request(server.url).post('/admin/api/pools/api/servers/a1/weight').set('authorization', AUTH).send({ weight: 5 }).expect(403);
      await request(server.url).get('/admin/static/dashboard.js').set('authorization', AUTH).expect(200);
      await request(server.url).get('/admin/api/nope').set('authorization', AUTH).expect(404);
      await request(server.url).get('/admin').set('authorization', AUTH).expect(303).expect('location', 'admin/');
      expect(dashboard.audit.recent()).to.have.length(1);
    });

    it('leaves other paths to Koa', async () => {
      await request(server.url).get('/other').expect(200, 'koa:/other');
      await request(server.url).get('/adminx').expect(200, 'koa:/adminx');
      await request(server.url).get('/admin/not-ours').expect(200, 'koa:/admin/not-ours');
    });

    it('streams events', async () => {
      const first = await firstEvent(`${server.url}/admin/events`);
      expect(first.event).to.equal('snapshot');
      expect(JSON.parse(first.data).pools[0].name).to.equal('api');
    });
  });

  describe('on its own server', () => {
    it('listens on 127.0.0.1 by default and answers 404 JSON off its routes', async () => {
      const server = await dashboard.listen();
      try {
        const address = server.address() as AddressInfo;
        expect(address.address).to.equal('127.0.0.1');
        const url = `http://127.0.0.1:${address.port}`;
        await request(url).get('/').expect(401);
        await request(url).get('/').set('authorization', AUTH).expect(200).expect('content-type', /text\/html/);
        await request(url).get('/api/pools').set('authorization', AUTH).expect(200);
        const missing = await request(url).get('/favicon.ico').expect(404);
        expect(missing.body.status).to.equal(404);
        expect(missing.headers['x-content-type-options']).to.equal('nosniff');
        const first = await firstEvent(`${url}/events`);
        expect(first.event).to.equal('snapshot');
      } finally {
        dashboard.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});

/** Open an event stream, read its first event, close it. */
function firstEvent(url: string): Promise<{ event: string; data: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: AUTH } }, (res) => {
      expect(res.headers['content-type']).to.match(/^text\/event-stream/);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (const block of buffer.split('\n\n').slice(0, -1)) {
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) {
            req.destroy();
            return resolve({ event, data });
          }
        }
      });
    });
    req.on('error', reject);
  });
}
