import { expect } from 'chai';
import http from 'node:http';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { startBackend, startBackends, type Backend } from '../support/backends.js';
import { FLAVOURS, send, startHost, type Host } from '../support/hosts.js';

interface Echo {
  backend: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

for (const flavour of FLAVOURS) {
  describe(`routing and forwarding through ${flavour}`, () => {
    let api: Backend[];
    let admin: Backend;
    let web: Backend;
    let balancer: Balancer;
    let host: Host;
    const connections = new Map<string, number>();

    before(async () => {
      api = await startBackends(2, 'api-');
      admin = await startBackend('admin-1');
      web = await startBackend('web-1', (req, res) => {
        // a server that sets its own hop-by-hop and Connection-named headers
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=5', 'x-backend': 'web-1', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] });
        res.end(`web ${req.url}`);
      });
      for (const backend of [...api, admin, web]) {
        connections.set(backend.id, 0);
        backend.server.on('connection', () => connections.set(backend.id, connections.get(backend.id)! + 1));
      }
      balancer = createBalancer({
        pools: {
          api: { servers: api.map((b) => ({ id: b.id, url: b.url })) },
          admin: { servers: [{ id: admin.id, url: admin.url }] },
          web: { servers: [{ id: web.id, url: web.url }] },
        },
        routes: [
          { path: '/admin', pool: 'admin' },
          { path: '/api', pool: 'api' },
          { path: '/static', stripPrefix: '/static', pool: 'web' },
          { path: '/', header: { 'x-canary': 'yes' }, pool: 'admin' },
          { path: '/', cookie: { beta: '1' }, method: 'GET', pool: 'web' },
        ],
      });
      host = await startHost(flavour, balancer);
    });

    after(async () => {
      await host.close();
      await balancer.close();
      await Promise.all([...api, admin, web].map((b) => b.close()));
    });

    it('sends a routed request to the pool, in rotation', async () => {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await request(host.url).get('/api/users?page=2').expect(200);
        const echo = res.body as Echo;
        expect(echo.url).to.equal('/api/users?page=2');
        seen.push(echo.backend);
      }
      expect(seen).to.deep.equal(['api-1', 'api-2', 'api-1', 'api-2']);
    });

    it('hands unmatched requests to the app, body unread', async () => {
      const res = await request(host.url).post('/apix/form').set('content-type', 'text/plain').send('left for the app').expect(200);
      expect(res.body).to.deep.include({ host: flavour, body: 'left for the app' });
    });

    it('matches and forwards the normalised path', async () => {
      for (const path of ['/api/../admin/x', '/api/%2e%2e/admin/x', '//admin/x']) {
        const res = await send(host.url, path);
        expect(res.status, path).to.equal(200);
        expect(res.json<Echo>(), path).to.include({ backend: 'admin-1', url: '/admin/x' });
      }
    });

    it('strips a prefix before forwarding', async () => {
      const res = await send(host.url, '/static/app.js?v=3');
      expect(res.body).to.equal('web /app.js?v=3');
    });

    it('routes by header and by cookie with method', async () => {
      expect((await send(host.url, '/anything', { headers: { 'x-canary': 'yes' } })).json<Echo>().backend).to.equal('admin-1');
      expect((await send(host.url, '/page', { headers: { cookie: 'beta=1' } })).body).to.equal('web /page');
      expect((await send(host.url, '/page', { method: 'POST', headers: { cookie: 'beta=1' } })).json().host).to.equal(flavour);
    });

    it('sets X-Forwarded-For, -Proto and -Host, replacing what an untrusted client sent', async () => {
      const res = await send(host.url, '/api/x', { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', host: 'shop.example.com' } });
      const { headers } = res.json<Echo>();
      expect(headers['x-forwarded-for']).to.equal('127.0.0.1');
      expect(headers['x-forwarded-proto']).to.equal('http');
      expect(headers['x-forwarded-host']).to.equal('shop.example.com');
      expect(headers.host).to.equal('shop.example.com');
    });

    it('drops hop-by-hop request headers, including those named in Connection', async () => {
      const res = await send(host.url, '/api/x', { headers: { connection: 'keep-alive, x-hop', 'x-hop': 'drop me', 'keep-alive': 'timeout=9', te: 'trailers', 'x-end': 'keep me' } });
      const { headers } = res.json<Echo>();
      expect(headers).to.not.have.any.keys('x-hop', 'keep-alive', 'te');
      expect(headers['x-end']).to.equal('keep me');
    });

    it('drops hop-by-hop response headers, including those named in Connection', async () => {
      const res = await send(host.url, '/static/x');
      expect(res.headers).to.not.have.any.keys('x-internal', 'keep-alive');
      expect(res.headers['x-backend']).to.equal('web-1');
    });

    it('passes every Set-Cookie a server sends, its Path under the prefix the route strips', async () => {
      const res = await send(host.url, '/static/x');
      expect(res.headers['set-cookie']).to.deep.equal(['a=1; Path=/static', 'b=2; Path=/static']);
    });

    it('streams a large request body whole', async () => {
      const body = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh');
      const res = await send(host.url, '/api/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
      expect(res.json<Echo>().body.length).to.equal(body.length);
    });

    it('streams a chunked request body whole', async () => {
      const echo = await new Promise<Echo>((resolve, reject) => {
        const url = new URL(host.url);
        const req = http.request({ host: url.hostname, port: url.port, path: '/api/chunked', method: 'POST', agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text) as Echo));
        });
        req.on('error', reject);
        req.write('first,');
        setTimeout(() => req.end('second'), 20);
      });
      expect(echo.body).to.equal('first,second');
      expect(echo.headers['transfer-encoding']).to.equal('chunked');
    });

    it('reuses keep-alive sockets to the servers across requests', async () => {
      const before = connections.get('admin-1')!;
      for (let i = 0; i < 10; i++) await send(host.url, '/admin/again');
      expect(connections.get('admin-1')! - before).to.be.at.most(1);
    });
  });
}
