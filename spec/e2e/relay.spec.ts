import { expect } from 'chai';
import http from 'node:http';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { startBackend, type Backend } from '../support/backends.js';
import { FLAVOURS, send, startHost, type Host } from '../support/hosts.js';

const BIG = 8 * 1024 * 1024;
/** More than loopback socket buffers hold, so that only backpressure can hold the server back. */
const HUGE = 48 * 1024 * 1024;
/** When the server finished writing /huge, if it has. */
let hugeFinished = false;

/** What a server answers: its request line and Host, or the special responses below. */
function relayBackend(id: string): Promise<Backend> {
  return startBackend(id, (req, res) => {
    req.resume();
    if (req.url === '/no-content') return void res.writeHead(204, { 'x-kind': 'none' }).end();
    if (req.url === '/not-modified') return void res.writeHead(304, { etag: '"v1"' }).end();
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
      return void res.end(Buffer.alloc(BIG, 'z'));
    }
    if (req.url === '/huge') {
      hugeFinished = false;
      res.writeHead(200, { 'content-length': String(HUGE) });
      res.on('finish', () => (hugeFinished = true));
      const chunk = Buffer.alloc(1024 * 1024, 'z');
      let left = HUGE / chunk.length;
      const write = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      return void write();
    }
    if (req.url === '/unsized') {
      // no Content-Length: the body is framed by chunks on both hops
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one,');
      return void setTimeout(() => res.end('two'), 10);
    }
    const body = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

/** GET a path, stop reading after the first chunk for `stallMs`, then read the rest. */
function readAfterStall(base: string, path: string, stallMs: number, duringStall: () => void): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
      let bytes = 0;
      res.once('data', () => {
        res.pause();
        setTimeout(() => {
          duringStall();
          res.resume();
        }, stallMs);
      });
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET a path with a client that reads one chunk every few milliseconds. */
function readSlowly(base: string, path: string): Promise<{ status: number; bytes: number; allZ: boolean }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
      let bytes = 0;
      let allZ = true;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        allZ &&= chunk.every((byte) => byte === 0x7a);
        res.pause();
        setTimeout(() => res.resume(), 2);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, allZ }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

for (const flavour of FLAVOURS) {
  describe(`relaying requests and responses through ${flavour}`, function () {
    this.timeout(20_000);
    let server: Backend;
    let balancer: Balancer;
    let host: Host;

    before(async () => {
      server = await relayBackend('relay-1');
      balancer = createBalancer({
        pools: {
          based: { servers: [{ id: 'based', url: `${server.url}/v2/` }] },
          origin: { changeOrigin: true, servers: [{ id: 'origin', url: server.url }] },
          plain: { servers: [{ id: 'plain', url: server.url }] },
        },
        routes: [
          { path: '/based', stripPrefix: '/based', pool: 'based' },
          { path: '/origin', pool: 'origin' },
          { path: '/', pool: 'plain' },
        ],
      });
      host = await startHost(flavour, balancer);
    });

    after(async () => {
      await host.close();
      await balancer.close();
      await server.close();
    });

    it("puts the server URL's base path before the request's path, query kept", async () => {
      expect((await send(host.url, '/based/items?page=2')).json()).to.include({ url: '/v2/items?page=2' });
      expect((await send(host.url, '/based')).json()).to.include({ url: '/v2/' });
    });

    it("keeps the client's Host by default, and sends the server's with changeOrigin", async () => {
      expect((await send(host.url, '/x', { headers: { host: 'shop.example' } })).json()).to.include({ host: 'shop.example' });
      expect((await send(host.url, '/origin/x', { headers: { host: 'shop.example' } })).json()).to.include({ host: `127.0.0.1:${server.port}` });
    });

    it('answers HEAD with the headers and no body', async () => {
      const res = await send(host.url, '/x', { method: 'HEAD' });
      expect(res.status).to.equal(200);
      expect(Number(res.headers['content-length'])).to.be.above(0);
      expect(res.body).to.equal('');
    });

    it('relays 204 and 304 without a body, and the connection stays usable', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const noContent = await send(host.url, '/no-content', { agent });
        expect([noContent.status, noContent.headers['x-kind'], noContent.body]).to.deep.equal([204, 'none', '']);
        const notModified = await send(host.url, '/not-modified', { agent, headers: { 'if-none-match': '"v1"' } });
        expect([notModified.status, notModified.headers.etag, notModified.body]).to.deep.equal([304, '"v1"', '']);
        expect((await send(host.url, '/after', { agent })).json()).to.include({ url: '/after' });
      } finally {
        agent.destroy();
      }
    });

    it('relays a body without Content-Length in chunks', async () => {
      const res = await send(host.url, '/unsized');
      expect(res.headers['transfer-encoding']).to.equal('chunked');
      expect(res.body).to.equal('one,two');
    });

    it('gives a slow reader all of a large body, and counts the bytes sent', async () => {
      const before = balancer.pool('plain').snapshot().servers[0]!.bytesOut;
      const res = await readSlowly(host.url, '/big');
      expect(res).to.deep.equal({ status: 200, bytes: BIG, allZ: true });
      expect(balancer.pool('plain').snapshot().servers[0]!.bytesOut - before).to.equal(BIG);
    });

    it('holds the server back while the client does not read, instead of buffering its body', async () => {
      let finishedDuringStall: boolean | undefined;
      const bytes = await readAfterStall(host.url, '/huge', 400, () => (finishedDuringStall = hugeFinished));
      expect(finishedDuringStall, 'the server finished writing while the client read nothing').to.equal(false);
      expect(bytes).to.equal(HUGE);
    });
  });
}
