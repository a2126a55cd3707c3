import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { gzipSync } from 'node:zlib';
import { createBalancer, keepRawBody, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { listen, startBackend, type Backend } from '../support/backends.js';
import { send } from '../support/hosts.js';

/** Body parsers that run before the balancer have already read the stream: the body must still arrive. */
describe('request bodies after Express body parsers', () => {
  let backend: Backend;
  let balancer: Balancer;
  let host: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    backend = await startBackend('api-1');
    balancer = createBalancer({ pools: { api: { servers: [{ id: 'api-1', url: backend.url }] } } });
    const app = express();
    app.use(express.json());
    app.use(express.urlencoded({ extended: true }));
    app.use(express.text());
    app.use(balancer.express());
    host = await listen(app);
  });

  after(async () => {
    await host.close();
    await balancer.close();
    await backend.close();
  });

  it('forwards a JSON body that express.json() parsed', async () => {
    const payload = { name: 'Zoë', items: [1, 2, { deep: true }] };
    const res = await request(host.url).post('/orders').send(payload).expect(200);
    expect(JSON.parse(res.body.body as string)).to.deep.equal(payload);
    expect(res.body.headers['content-length']).to.equal(String(Buffer.byteLength(JSON.stringify(payload))));
  });

  it('forwards a form body that express.urlencoded() parsed', async () => {
    const res = await request(host.url).post('/form').type('form').send('a=1&b=two+words&list[]=x&list[]=y&obj[k]=v').expect(200);
    const form = new URLSearchParams(res.body.body as string);
    expect(form.get('a')).to.equal('1');
    expect(form.get('b')).to.equal('two words');
    expect(form.getAll('list'), 'an array goes as repeated keys, which qs reads back the same').to.deep.equal(['x', 'y']);
    expect(form.get('obj[k]')).to.equal('v');
  });

  it('forwards a text body that express.text() parsed', async () => {
    const res = await request(host.url).put('/note').set('content-type', 'text/plain').send('plain words').expect(200);
    expect(res.body.body).to.equal('plain words');
  });

  it('streams bodies no parser touched', async () => {
    const res = await request(host.url).post('/bin').set('content-type', 'application/octet-stream').send(Buffer.from('raw bytes')).expect(200);
    expect(res.body.body).to.equal('raw bytes');
  });
});

/** The rules for bodies something read before the balancer: exact bytes, or fail closed at once. */
describe('request bodies that were read before the balancer', () => {
  let backend: Backend;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    backend = await startBackend('api-1');
  });

  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  after(async () => {
    await backend.close();
  });

  /** An Express host with `before` middleware ahead of the balancer. */
  async function expressHost(...before: express.RequestHandler[]): Promise<{ url: string; balancer: Balancer }> {
    const balancer = createBalancer({ pools: { api: { servers: [{ id: 'api-1', url: backend.url }] } }, logger: silentLogger });
    const app = express();
    for (const middleware of before) app.use(middleware);
    app.use(balancer.express());
    const host = await listen(app);
    closers.push(() => balancer.close(), () => host.close());
    return { url: host.url, balancer };
  }

  it('forwards the bytes a Koa body parser read (ctx.request.body, not req.body)', async () => {
    const balancer = createBalancer({ pools: { api: { servers: [{ id: 'api-1', url: backend.url }] } }, logger: silentLogger });
    const app = new Koa();
    app.use(bodyParser());
    app.use(balancer.koa());
    const host = await listen(app.callback());
    closers.push(() => balancer.close(), () => host.close());
    const sent = '{"id": 12345678901234567890, "name":"Zoë"}';
    const started = Date.now();
    const res = await request(host.url).post('/orders').set('content-type', 'application/json').send(sent).expect(200);
    expect(Date.now() - started).to.be.below(2000);
    expect(res.body.body).to.equal(sent);
    expect(res.body.headers['content-length']).to.equal(String(Buffer.byteLength(sent)));
  });

  it('answers 500 BODY_ALREADY_CONSUMED at once when middleware read the stream and left nothing, without blaming the server', async () => {
    const drained: express.RequestHandler = (req, _res, next) => {
      req.on('data', () => {});
      req.on('end', () => next());
    };
    const { url, balancer } = await expressHost(drained);
    const hits = backend.hits;
    const started = Date.now();
    const res = await request(url).post('/upload').set('accept', 'application/json').set('content-type', 'application/octet-stream').send(Buffer.from('lost bytes')).expect(500);
    expect(Date.now() - started).to.be.below(1000);
    expect(res.body.error.code).to.equal('BODY_ALREADY_CONSUMED');
    expect(backend.hits).to.equal(hits);
    const server = balancer.snapshot().pools.api!.servers[0]!;
    expect(server.requests).to.equal(0);
    expect(server.health).to.equal('healthy');
  });

  it('forwards gzip-encoded JSON that express.json() inflated as plain JSON, without Content-Encoding', async () => {
    const { url } = await expressHost(express.json());
    const payload = { hello: 'world', n: [1, 2, 3] };
    const res = await send(url, '/json', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(payload)) });
    expect(res.status).to.equal(200);
    const seen = res.json<{ body: string; headers: Record<string, string> }>();
    expect(JSON.parse(seen.body)).to.deep.equal(payload);
    expect(seen.headers['content-encoding']).to.equal(undefined);
    expect(seen.headers['content-length']).to.equal(String(Buffer.byteLength(JSON.stringify(payload))));
  });

  it('refuses to re-serialise JSON whose big integers express.json() already rounded, and forwards them exactly with keepRawBody', async () => {
    const sent = '{"id":12345678901234567890}';
    const rounded = await expressHost(express.json());
    const refused = await request(rounded.url).post('/json').set('accept', 'application/json').set('content-type', 'application/json').send(sent).expect(500);
    expect(refused.body.error.code).to.equal('BODY_ALREADY_CONSUMED');
    const kept = await expressHost(express.json({ verify: keepRawBody }));
    const res = await request(kept.url).post('/json').set('content-type', 'application/json').send(sent).expect(200);
    expect(res.body.body).to.equal(sent);
  });

  it('answers 500 for a parsed type it cannot turn back into bytes, instead of an empty body', async () => {
    const custom: express.RequestHandler = (req, _res, next) => {
      req.on('data', () => {});
      req.on('end', () => {
        (req as express.Request).body = { parsed: true };
        next();
      });
    };
    const { url } = await expressHost(custom);
    const hits = backend.hits;
    const res = await request(url).post('/custom').set('accept', 'application/json').set('content-type', 'application/x-custom').send('a;b;c').expect(500);
    expect(res.body.error.code).to.equal('BODY_ALREADY_CONSUMED');
    expect(backend.hits).to.equal(hits);
  });

  it('forwards a body express.raw() read as its exact bytes', async () => {
    const { url } = await expressHost(express.raw({ type: 'application/octet-stream' }));
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    const res = await request(url).post('/raw').set('content-type', 'application/octet-stream').send(bytes).expect(200);
    expect(Buffer.from(res.body.body as string, 'latin1').length).to.be.at.least(1);
    expect(res.body.headers['content-length']).to.equal('6');
  });
});
