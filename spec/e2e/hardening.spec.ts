import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { createBalancer, type Balancer, type BalancerOptions } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { startBackend, type Backend, type Handler } from '../support/backends.js';
import { FLAVOURS, send, startHost, type Host } from '../support/hosts.js';
import { startRawBackend, type RawBackend } from '../support/raw-backend.js';
import { waitFor } from '../support/wait.js';

/** Responses no well-behaved server writes: each must reach the client as a well-formed 502, and its socket must never be reused. */
const MALFORMED: Array<[name: string, raw: string]> = [
  ['a status below 100', 'HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok'],
  ['a status above 999', 'HTTP/1.1 1000 Big\r\nContent-Length: 2\r\n\r\nok'],
  ['a status between 600 and 999', 'HTTP/1.1 777 Odd\r\nContent-Length: 2\r\n\r\nok'],
  ['Transfer-Encoding with Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ['a NUL in a header', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok'],
  ['a 20 KB header', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`],
  ['a 101 to a request that asked for no upgrade', 'HTTP/1.1 101 Switching Protocols\r\n\r\nhello'],
  ['a 101 with Upgrade headers to a plain request', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello'],
];

for (const flavour of FLAVOURS) {
  describe(`hardening through ${flavour}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });

    async function proxyTo(pools: BalancerOptions['pools'], extra: Omit<BalancerOptions, 'pools'> = {}): Promise<{ balancer: Balancer; host: Host }> {
      const balancer = createBalancer({ pools, logger: silentLogger, ...extra });
      const host = await startHost(flavour, balancer);
      cleanups.push(() => balancer.close(), () => host.close());
      return { balancer, host };
    }

    async function raw(answer: (head: string, index: number) => string): Promise<RawBackend> {
      const backend = await startRawBackend(answer);
      cleanups.push(() => backend.close());
      return backend;
    }

    async function backend(id: string, handler?: Handler): Promise<Backend> {
      const started = await startBackend(id, handler);
      cleanups.push(() => started.close());
      return started;
    }

    for (const [name, response] of MALFORMED) {
      it(`answers 502 UPSTREAM_BAD_RESPONSE for ${name}, at once, and never reuses that socket`, async () => {
        const bad = await raw((head, index) => (index === 0 ? response : 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood'));
        const { balancer, host } = await proxyTo({ api: { retries: 0, servers: [{ id: 'bad', url: bad.url }] } });
        const started = Date.now();
        const first = await send(host.url, '/x', { headers: { accept: 'application/json' } });
        expect(first.status).to.equal(502);
        expect(first.json<{ error: { code: string } }>().error.code).to.equal('UPSTREAM_BAD_RESPONSE');
        expect(Date.now() - started, 'not left waiting for responseMs').to.be.below(2000);
        const second = await send(host.url, '/y');
        expect(second.status).to.equal(200);
        expect(second.body).to.equal('good');
        expect(bad.connections, 'the bad socket went away; the next request had a new one').to.equal(2);
        expect(balancer.snapshot().pools.api!.servers[0]!.errors.invalid).to.equal(1);
      });
    }

    it('cuts the connection for bad chunking once the head is out, and never reuses that socket', async () => {
      const bad = await raw((head, index) => (index === 0 ? 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood'));
      const { balancer, host } = await proxyTo({ api: { servers: [{ id: 'bad', url: bad.url }] } });
      const cut = await send(host.url, '/x').then(() => 'answered', (error: NodeJS.ErrnoException) => error.code ?? error.message);
      expect(cut).to.equal('ECONNRESET');
      expect((await send(host.url, '/y')).body).to.equal('good');
      expect(bad.connections).to.equal(2);
      expect(balancer.snapshot().pools.api!.servers[0]!.errors.invalid).to.equal(1);
    });

    it('relays a reason phrase with control bytes with the standard one instead', async () => {
      const odd = await raw(() => 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok');
      const { host } = await proxyTo({ api: { servers: [{ id: 'odd', url: odd.url }] } });
      const res = await send(host.url, '/x');
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('ok');
    });

    it('never lets a body longer than its Content-Length answer the next request', async () => {
      const smuggler = await raw((head, index) => (index === 0 ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled' : 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond'));
      const { host } = await proxyTo({ api: { servers: [{ id: 's', url: smuggler.url }] } });
      expect((await send(host.url, '/one')).body).to.equal('ok');
      expect((await send(host.url, '/two')).body).to.equal('second');
    });

    it("keeps the client's Host when it names Host in Connection", async () => {
      const echo = await backend('echo');
      const { host } = await proxyTo({ api: { servers: [{ id: 'echo', url: echo.url }] } });
      const res = await send(host.url, '/x', { headers: { host: 'shop.example.com', connection: 'host, content-length, x-forwarded-for' } });
      const seen = res.json<{ headers: Record<string, string> }>().headers;
      expect(seen.host).to.equal('shop.example.com');
      expect(seen['x-forwarded-for']).to.be.a('string');
      expect(seen['x-forwarded-host']).to.equal('shop.example.com');
    });

    it('answers 508 at once when the pool routes back to the balancer itself', async () => {
      const balancer = createBalancer({ pools: { api: { servers: [{ id: 'self', url: 'http://127.0.0.1:1' }] } }, logger: silentLogger });
      const host = await startHost(flavour, balancer);
      cleanups.push(() => balancer.close(), () => host.close());
      // point the pool at its own host, as a misconfiguration would
      await balancer.pool('api').addServer({ id: 'loop', url: host.url });
      await balancer.pool('api').disable('self');
      let connections = 0;
      host.server.on('connection', () => connections++);
      const started = Date.now();
      const res = await send(host.url, '/x', { headers: { accept: 'application/json' } });
      expect(res.status).to.equal(508);
      expect(res.json<{ error: { code: string } }>().error.code).to.equal('LOOP_DETECTED');
      expect(Date.now() - started).to.be.below(1000);
      expect(connections, 'the client and one looped request').to.equal(2);
    });

    it('routes an absolute-form target on its path, and forwards it in origin form', async () => {
      const echo = await backend('echo');
      const { host } = await proxyTo({ api: { servers: [{ id: 'echo', url: echo.url }] } }, { routes: [{ path: '/api', pool: 'api' }] });
      const res = await send(host.url, 'http://shop.example.com/api/orders?x=1');
      expect(res.status).to.equal(200);
      expect(res.json<{ url: string }>().url).to.equal('/api/orders?x=1');
      const other = await send(host.url, 'http://shop.example.com/admin');
      expect(other.json<{ host?: string }>().host, 'unrouted: the app answers').to.equal(flavour);
    });

    it('closes a slow PUT whose body stalls while it is read for retries (clientMs)', async () => {
      const echo = await backend('echo');
      const { balancer, host } = await proxyTo({ api: { timeouts: { clientMs: 200 }, servers: [{ id: 'echo', url: echo.url }] } });
      const { port } = new URL(host.url);
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.write('PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part');
      const started = Date.now();
      await new Promise((resolve) => socket.on('close', resolve).on('error', resolve));
      expect(Date.now() - started).to.be.below(1500);
      expect(echo.hits, 'the server never saw it').to.equal(0);
      await waitFor('the request to leave the in-flight count', () => balancer.snapshot().pools.api!.servers[0]!.active === 0);
    });

    /** Two servers that cut every reused keep-alive connection before answering: a pooled retry would be cut too. */
    async function cuttingPair(): Promise<{ a: Backend; b: Backend; host: Host }> {
      const requestsOn = new WeakMap<net.Socket, number>();
      const cutting: Handler = (req, res, self) => {
        const seen = (requestsOn.get(req.socket) ?? 0) + 1;
        requestsOn.set(req.socket, seen);
        if (seen > 1) return void req.socket.destroy();
        req.resume();
        res.end(JSON.stringify({ backend: self.id }));
      };
      const [a, b] = await Promise.all([backend('a', cutting), backend('b', cutting)]);
      const { host } = await proxyTo({ api: { servers: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }] } });
      // one request each, so that both have an idle pooled socket
      await send(host.url, '/warm');
      await send(host.url, '/warm');
      return { a, b, host };
    }

    it('retries an idempotent request after a reused socket reset on a fresh connection', async () => {
      const { host } = await cuttingPair();
      const get = await send(host.url, '/again');
      expect(get.status).to.equal(200);
    });

    it('never resends a POST after a reused socket reset, even without a body', async () => {
      const { a, b, host } = await cuttingPair();
      const post = await send(host.url, '/order', { method: 'POST', headers: { accept: 'application/json' } });
      expect(post.status).to.equal(502);
      expect(post.json<{ error: { code: string } }>().error.code).to.equal('UPSTREAM_RESET');
      expect(a.hits + b.hits, 'two warm-ups and the POST, sent once').to.equal(3);
    });
  });
}

describe('hardening: WebSockets', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('closes both sides when the server resets after the 101, never writing an HTTP error into the stream', async () => {
    const server = http.createServer();
    server.on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello');
      setTimeout(() => (socket as net.Socket).resetAndDestroy(), 50);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const balancer = createBalancer({ pools: { ws: { servers: [{ id: 'w', url }] } }, logger: silentLogger });
    const host = await startHost('wrap', balancer);
    cleanups.push(() => balancer.close(), () => host.close());
    const client = net.connect(Number(new URL(host.url).port), '127.0.0.1');
    client.write('GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await new Promise((resolve) => client.on('close', resolve).on('error', resolve));
    expect(received).to.match(/^HTTP\/1\.1 101/);
    expect(received).to.contain('hello');
    expect(received).not.to.contain('502');
    await waitFor('the tunnel to be counted', () => balancer.snapshot().pools.ws!.servers[0]!.active === 0);
    const stats = balancer.snapshot().pools.ws!.servers[0]!;
    expect(stats.requests).to.equal(1);
    expect(stats.errors.reset).to.equal(1);
  });
});
