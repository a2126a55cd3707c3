import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import type http from 'node:http';
import { createBalancer, UpstreamError, type Balancer, type BalancerOptions, type FinishRecord } from '../../middleware/index.js';
import { createDashboard } from '../../dashboard/index.js';
import { recorder } from '../support/recording-logger.js';
import { listen, refusedUrl, startBackend, type Backend, type Handler } from '../support/backends.js';
import { send, startHost } from '../support/hosts.js';
import { silentLogger } from '../../middleware/logger.js';

interface Echo {
  url: string;
  headers: Record<string, string>;
}

/** What users coming from HPM, @fastify/http-proxy, Express and Koa expect, shown on real parts. */
describe('fitting the ecosystem', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function backend(id: string, handler?: Handler): Promise<Backend> {
    const started = await startBackend(id, handler);
    cleanups.push(() => started.close());
    return started;
  }

  function balancerOf(options: BalancerOptions): Balancer {
    const balancer = createBalancer({ logger: silentLogger, ...options });
    cleanups.push(() => balancer.close());
    return balancer;
  }

  async function serve(handler: http.RequestListener): Promise<string> {
    const host = await listen(handler);
    cleanups.push(() => host.close());
    return host.url;
  }

  describe('Koa conventions', () => {
    it('resolves next() once the proxied response has finished, with the real status in ctx.status', async () => {
      const slow = await backend('slow', (req, res) => setTimeout(() => res.writeHead(201).end('made'), 100));
      const balancer = balancerOf({ pools: { api: { servers: [{ id: 'slow', url: slow.url }] } } });
      const seen: Array<{ status: number; finished: boolean; ms: number }> = [];
      const app = new Koa();
      app.use(async (ctx, next) => {
        const started = Date.now();
        await next();
        seen.push({ status: ctx.status, finished: ctx.res.writableFinished, ms: Date.now() - started });
      });
      app.use(balancer.koa());
      const url = await serve(app.callback());
      expect((await send(url, '/x')).status).to.equal(201);
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ status: 201, finished: true });
      expect(seen[0]!.ms).to.be.at.least(90);
    });

    it("restores ctx.url for middleware above dashboard.koa('/admin'), as koa-mount does", async () => {
      const balancer = balancerOf({ pools: { api: { servers: [{ id: 'a', url: 'http://127.0.0.1:1' }] } }, routes: [{ path: '/api', pool: 'api' }] });
      const dashboard = createDashboard(balancer, { insecure: true });
      cleanups.push(async () => dashboard.close());
      const urls: string[] = [];
      const app = new Koa();
      app.use(async (ctx, next) => {
        await next();
        urls.push(ctx.url);
      });
      app.use(dashboard.koa('/admin'));
      const url = await serve(app.callback());
      expect((await send(url, '/admin/api/pools')).status).to.equal(200);
      expect(urls).to.deep.equal(['/admin/api/pools']);
    });
  });

  describe('trustProxy, as Express takes it', () => {
    async function proxiedAs(trustProxy: BalancerOptions['trustProxy'], headers: Record<string, string>): Promise<Echo> {
      const echo = await backend('echo');
      const balancer = balancerOf({ pools: { api: { servers: [{ id: 'e', url: echo.url }] } }, ...(trustProxy === undefined ? {} : { trustProxy }) });
      const host = await startHost('wrap', balancer);
      cleanups.push(() => host.close());
      return (await send(host.url, '/x', { headers })).json<Echo>();
    }

    it('takes a hop count, addresses and subnets, and a function', async () => {
      const xff = { 'x-forwarded-for': '203.0.113.7, 10.1.2.3', 'x-forwarded-proto': 'https' };
      // the peer is 127.0.0.1: trusting it keeps what it says and appends it
      for (const trust of [1, 'loopback', '127.0.0.0/8', ['127.0.0.1'], (address: string) => address === '127.0.0.1'] as const) {
        const seen = await proxiedAs(trust as BalancerOptions['trustProxy'], xff);
        expect(seen.headers['x-forwarded-for'], String(trust)).to.equal('203.0.113.7, 10.1.2.3, 127.0.0.1');
        expect(seen.headers['x-forwarded-proto']).to.equal('https');
      }
      for (const trust of [false, 0, '10.0.0.0/8', undefined] as const) {
        const seen = await proxiedAs(trust, xff);
        expect(seen.headers['x-forwarded-for'], String(trust)).to.equal('127.0.0.1');
        expect(seen.headers['x-forwarded-proto']).to.equal('http');
      }
    });

    it("follows the Express app's own trust proxy setting under express(), and refuses a bad value at start-up", async () => {
      const echo = await backend('echo');
      const balancer = balancerOf({ pools: { api: { algorithm: 'ip-hash', servers: [{ id: 'e', url: echo.url }] } } });
      const app = express();
      app.set('trust proxy', 'loopback');
      app.use(balancer.express());
      const url = await serve(app);
      const seen = (await send(url, '/x', { headers: { 'x-forwarded-for': '198.51.100.4', 'x-forwarded-host': 'shop.example.com' } })).json<Echo>();
      expect(seen.headers['x-forwarded-for']).to.equal('198.51.100.4, 127.0.0.1');
      expect(seen.headers['x-forwarded-host']).to.equal('shop.example.com');
      expect(() => createBalancer({ trustProxy: 'not-an-address', pools: { api: { servers: [{ id: 'e', url: echo.url }] } } })).to.throw(/trustProxy: expected addresses or subnets/);
      expect(() => createBalancer({ trustProxy: { hops: 2 } as never, pools: { api: { servers: [{ id: 'e', url: echo.url }] } } })).to.throw(/trustProxy/);
    });

    it("leaves the host app's request untouched when the balancer does not proxy it", async () => {
      const balancer = balancerOf({ pools: { api: { servers: [{ id: 'a', url: 'http://127.0.0.1:1' }] } }, routes: [{ path: '/api', pool: 'api' }], trustProxy: true });
      let seen: http.IncomingHttpHeaders = {};
      const app = express();
      app.use(balancer.express());
      app.use((req, res) => {
        seen = req.headers;
        res.end('app');
      });
      const url = await serve(app);
      await send(url, '/home', { headers: { 'x-forwarded-for': '203.0.113.7', connection: 'keep-alive, x-custom', 'x-custom': '1' } });
      expect(seen).to.include({ 'x-forwarded-for': '203.0.113.7', connection: 'keep-alive, x-custom', 'x-custom': '1' });
      expect(seen).not.to.have.property('via');
    });
  });

  describe("what the client sees of the server's origin", () => {
    it('rewrites Location and Set-Cookie Domain/Path when a route strips a prefix (NGINX proxy_redirect default)', async () => {
      let location = '';
      const app = await backend('app', (req, res, self) => {
        res.setHeader('location', location.replace('SELF', `127.0.0.1:${self.port}`));
        res.setHeader('set-cookie', [`sid=1; Path=/app/; Domain=127.0.0.1; HttpOnly`, 'theme=dark; Path=/', 'other=1; Path=/elsewhere']);
        res.writeHead(302).end();
      });
      const balancer = balancerOf({ pools: { web: { servers: [{ id: 'app', url: `${app.url}/app` }] } }, routes: [{ path: '/shop', pool: 'web', stripPrefix: '/shop' }] });
      const host = await startHost('wrap', balancer);
      cleanups.push(() => host.close());
      const cases: Array<[string, string]> = [
        ['http://SELF/app/login?next=1', 'http://shop.example.com/shop/login?next=1'],
        ['/app/cart', '/shop/cart'],
        ['https://elsewhere.example/x', 'https://elsewhere.example/x'],
      ];
      for (const [sent, expected] of cases) {
        location = sent;
        const res = await send(host.url, '/shop/x', { headers: { host: 'shop.example.com' } });
        expect(res.headers.location, sent).to.equal(expected);
      }
      const cookies = (await send(host.url, '/shop/x', { headers: { host: 'shop.example.com' } })).headers['set-cookie'];
      expect(cookies).to.deep.equal(['sid=1; Path=/shop/; HttpOnly', 'theme=dark; Path=/', 'other=1; Path=/elsewhere']);
    });

    it("rewrites a Location naming the changeOrigin host to the client's host", async () => {
      const app = await backend('app', (req, res) => res.writeHead(301, { location: `http://${req.headers.host}/moved` }).end());
      const balancer = balancerOf({ pools: { api: { changeOrigin: true, servers: [{ id: 'app', url: app.url }] } } });
      const host = await startHost('express', balancer);
      cleanups.push(() => host.close());
      const res = await send(host.url, '/old', { headers: { host: 'www.example.com' } });
      expect(res.headers.location).to.equal('http://www.example.com/moved');
    });
  });

  describe('hooks', () => {
    it('changes upstream headers and path, and response headers, per balancer and per route', async () => {
      const echo = await backend('echo');
      const balancer = balancerOf({
        pools: { api: { servers: [{ id: 'e', url: echo.url }] } },
        hooks: {
          request: ({ headers }) => {
            headers['x-tenant'] = 'acme';
            delete headers['x-secret'];
          },
          response: ({ headers, status }) => void headers.set('x-seen-status', String(status)).delete('x-backend'),
        },
        routes: [
          { path: '/v1', pool: 'api', rewrite: { '^/v1/': '/v2/' } },
          { path: '/fn', pool: 'api', rewrite: (path) => path.toUpperCase(), hooks: { request: (context) => void (context.path = `${context.path}?hooked=1`) } },
        ],
      });
      const host = await startHost('wrap', balancer);
      cleanups.push(() => host.close());
      const v1 = await send(host.url, '/v1/users?x=1', { headers: { 'x-secret': 'hide me' } });
      const seen = v1.json<Echo>();
      expect(seen.url).to.equal('/v2/users?x=1');
      expect(seen.headers['x-tenant']).to.equal('acme');
      expect(seen.headers).not.to.have.property('x-secret');
      expect(v1.headers['x-seen-status']).to.equal('200');
      expect(v1.headers).not.to.have.property('x-backend');
      expect((await send(host.url, '/fn/a')).json<Echo>().url).to.equal('/FN/A?hooked=1');
    });

    it('gives the error hook a typed UpstreamError it can answer with, and never a server address', async () => {
      const seen: UpstreamError[] = [];
      const balancer = balancerOf({
        pools: { api: { retries: 0, servers: [{ id: 'dead', url: await refusedUrl() }] } },
        hooks: {
          error: ({ error, res }) => {
            seen.push(error);
            res.writeHead(error.status, { 'content-type': 'text/plain' }).end(`sorry: ${error.code} in ${error.pool ?? ''}`);
            return true;
          },
        },
      });
      const host = await startHost('koa', balancer);
      cleanups.push(() => host.close());
      const res = await send(host.url, '/x');
      expect(res.status).to.equal(502);
      expect(res.body).to.equal('sorry: UPSTREAM_CONNECT_FAILED in api');
      expect(seen[0]).to.be.instanceOf(UpstreamError);
      expect(seen[0]).to.include({ code: 'UPSTREAM_CONNECT_FAILED', pool: 'api', server: 'dead', status: 502 });
      expect(JSON.stringify({ ...seen[0], message: seen[0]!.message })).not.to.match(/127\.0\.0\.1/);
    });

    it("passes upstream errors to the Express app's error handler with express({ errors: 'next' })", async () => {
      const balancer = balancerOf({ pools: { api: { retries: 0, servers: [{ id: 'dead', url: await refusedUrl() }] } } });
      const app = express();
      app.use(balancer.express({ errors: 'next' }));
      app.use((error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
        const upstream = error as UpstreamError;
        res.status(upstream.status).json({ rendered: true, code: upstream.code });
      });
      const url = await serve(app);
      const res = await send(url, '/x');
      expect(res.status).to.equal(502);
      expect(res.json()).to.deep.equal({ rendered: true, code: 'UPSTREAM_CONNECT_FAILED' });
    });

    it('answers 502 for a hook that throws, logs one line, and keeps serving', async () => {
      const echo = await backend('echo');
      const logger = recorder();
      let fail = true;
      const balancer = createBalancer({
        logger,
        pools: { api: { servers: [{ id: 'e', url: echo.url }] } },
        hooks: { request: () => { if (fail) throw new Error('hook bug'); } },
      });
      cleanups.push(() => balancer.close());
      const host = await startHost('wrap', balancer);
      cleanups.push(() => host.close());
      for (let i = 0; i < 3; i++) {
        const res = await send(host.url, '/x', { headers: { accept: 'application/json' } });
        expect(res.status).to.equal(502);
        expect(res.json<{ error: { code: string } }>().error.code).to.equal('CALLBACK_FAILED');
      }
      expect(logger.warnings.filter((line) => /hooks\.request threw/.test(line))).to.have.length(1);
      expect(echo.hits).to.equal(0);
      expect(balancer.snapshot().pools.api!.servers[0]!.health).to.equal('healthy');
      fail = false;
      expect((await send(host.url, '/x')).status).to.equal(200);
    });

    it('hands one finish record per request to hooks.finish, with timings and outcome', async () => {
      const echo = await backend('echo');
      const records: FinishRecord[] = [];
      const balancer = balancerOf({ pools: { api: { retries: 0, servers: [{ id: 'e', url: echo.url }] } }, hooks: { finish: (record) => records.push(record) } });
      const host = await startHost('wrap', balancer);
      cleanups.push(() => host.close());
      await send(host.url, '/ok', { method: 'POST', body: 'hello' });
      expect(records).to.have.length(1);
      expect(records[0]).to.include({ pool: 'api', server: 'e', method: 'POST', path: '/ok', status: 200, outcome: 'ok', code: undefined, retries: 0, bytesIn: 5, queueMs: 0 });
      expect(records[0]!.durationMs).to.be.above(0);
      expect(records[0]!.firstByteMs).to.be.above(0).and.at.most(records[0]!.durationMs);
      expect(records[0]!.requestId).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  describe('request ids', () => {
    it('makes an id, sends it upstream and back; keeps a trusted one; replaces an untrusted one; passes traceparent untouched', async () => {
      const echo = await backend('echo');
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      for (const [trustProxy, incoming, kept] of [[false, 'client-made', false], [true, 'from-the-edge', true]] as const) {
        const balancer = balancerOf({ trustProxy, pools: { api: { servers: [{ id: 'e', url: echo.url }] } } });
        const host = await startHost('wrap', balancer);
        cleanups.push(() => host.close());
        const fresh = await send(host.url, '/x', { headers: { traceparent } });
        const upstream = fresh.json<Echo>().headers;
        expect(upstream['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
        expect(fresh.headers['x-request-id']).to.equal(upstream['x-request-id']);
        expect(upstream.traceparent).to.equal(traceparent);
        const given = await send(host.url, '/x', { headers: { 'x-request-id': incoming } });
        expect(given.json<Echo>().headers['x-request-id'] === incoming, `trustProxy ${String(trustProxy)}`).to.equal(kept);
      }
    });
  });

  describe('for the platform', () => {
    it('serves Prometheus metrics without the dashboard, with a status class label and build info', async () => {
      const echo = await backend('echo');
      const balancer = balancerOf({ pools: { api: { servers: [{ id: 'e', url: echo.url }] } }, routes: [{ path: '/api', pool: 'api' }] });
      const app = express();
      app.get('/metrics', balancer.metrics());
      app.use(balancer.express());
      const url = await serve(app);
      await send(url, '/api/x');
      const res = await send(url, '/metrics');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
      expect(res.body).to.match(/^switchyard_requests_total\{pool="api",server="e",status_class="2xx"\} 1$/m);
      expect(res.body).to.match(/^switchyard_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*",instance="[^"]+"\} 1$/m);
    });

    it('answers readiness 200 while each pool has an eligible server, 503 without one and from the start of close()', async () => {
      const slow = await backend('slow', (req, res) => setTimeout(() => res.end('late'), 300));
      const balancer = createBalancer({ logger: silentLogger, pools: { api: { servers: [{ id: 's', url: slow.url }] }, spare: { servers: [{ id: 't', url: slow.url }] } }, routes: [{ path: '/api', pool: 'api' }, { path: '/spare', pool: 'spare' }] });
      const app = express();
      app.get('/ready', balancer.ready());
      app.get('/ready-api', balancer.ready({ pools: ['api'] }));
      app.use(balancer.express());
      const url = await serve(app);
      expect((await send(url, '/ready')).status).to.equal(200);
      await balancer.pool('spare').disable('t');
      expect((await send(url, '/ready')).json()).to.deep.equal({ ready: false, closing: false, pools: { api: 1, spare: 0 } });
      expect((await send(url, '/ready-api')).status).to.equal(200);
      const inFlight = send(url, '/api/x');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = balancer.close();
      expect((await send(url, '/ready-api')).status).to.equal(503);
      expect((await inFlight).status).to.equal(200);
      await closing;
      expect(() => balancer.ready({ pools: ['nope'] })).to.throw(/no pool "nope"/);
    });
  });
});
