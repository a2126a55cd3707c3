import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { listen, startBackend, type Backend } from '../support/backends.js';

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
