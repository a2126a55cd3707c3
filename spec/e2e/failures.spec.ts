import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { createBalancer, type Balancer, type BalancerOptions } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { refusedUrl, startBackend, type Backend } from '../support/backends.js';
import { startBlackhole } from '../support/blackhole.js';
import { send, startHost, type Host } from '../support/hosts.js';
import { waitFor } from '../support/wait.js';

/** Open sockets to a backend, as the backend counts them. */
function openConnections(backend: Backend): Promise<number> {
  return new Promise((resolve, reject) => backend.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}


describe('failures', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function proxyTo(pools: BalancerOptions['pools']): Promise<{ balancer: Balancer; host: Host }> {
    const balancer = createBalancer({ pools, logger: silentLogger });
    const host = await startHost('wrap', balancer);
    cleanups.push(() => balancer.close(), () => host.close());
    return { balancer, host };
  }

  async function backend(id: string, handler?: Parameters<typeof startBackend>[1]): Promise<Backend> {
    const started = await startBackend(id, handler);
    cleanups.push(() => started.close());
    return started;
  }

  describe('a server refuses the connection', () => {
    it('retries a GET on another server', async () => {
      const good = await backend('good');
      const { host, balancer } = await proxyTo({ api: { servers: [{ id: 'dead', url: await refusedUrl() }, { id: 'good', url: good.url }] } });
      for (let i = 0; i < 4; i++) expect((await send(host.url, '/x')).json().backend).to.equal('good');
      const dead = balancer.snapshot().pools.api!.servers.find((s) => s.id === 'dead')!;
      // a retry is a turn of its own: round robin's next turn is the dead server again, every request
      expect(dead.errors.connect).to.equal(4);
    });

    it('retries a POST without a body, and a PUT with one', async () => {
      const good = await backend('good');
      const { host } = await proxyTo({ api: { servers: [{ id: 'dead', url: await refusedUrl() }, { id: 'good', url: good.url }] } });
      const post = await send(host.url, '/x', { method: 'POST' });
      expect(post.json().backend).to.equal('good');
      const put = await send(host.url, '/x', { method: 'PUT', body: 'replayed', headers: { 'content-type': 'text/plain' } });
      expect(put.json()).to.include({ backend: 'good', body: 'replayed' });
    });

    it('moves a POST with a body to another server: nothing was sent, and the body waits for a connection', async () => {
      const good = await backend('good');
      const { host, balancer } = await proxyTo({ api: { servers: [{ id: 'dead', url: await refusedUrl() }, { id: 'good', url: good.url }] } });
      const res = await send(host.url, '/x', { method: 'POST', body: 'once only', headers: { 'content-type': 'text/plain' } });
      expect(res.json()).to.include({ backend: 'good', body: 'once only' });
      expect(good.hits).to.equal(1);
      expect(balancer.snapshot().pools.api!.servers.find((s) => s.id === 'dead')!.errors.connect).to.equal(1);
    });

    it('stops after `retries` other servers, with 502', async () => {
      const urls = await Promise.all([1, 2, 3, 4].map(() => refusedUrl()));
      const { host, balancer } = await proxyTo({ api: { retries: 2, servers: urls.map((url, i) => ({ id: `d${i}`, url })) } });
      const res = await send(host.url, '/x');
      expect(res.status).to.equal(502);
      const tried = balancer.snapshot().pools.api!.servers.reduce((sum, s) => sum + s.errors.connect, 0);
      expect(tried).to.equal(3);
    });
  });

  it('retries a GET on another server when a reused keep-alive socket is reset before any answer', async () => {
    // the server closes an idle connection just as the balancer reuses it: its second request on a socket is cut
    const requestsOn = new WeakMap<net.Socket, number>();
    const closing = await backend('closing', (req, res, self) => {
      const seen = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, seen);
      if (seen > 1) return void req.socket.destroy();
      res.end(JSON.stringify({ backend: self.id }));
    });
    const good = await backend('good');
    const { host, balancer } = await proxyTo({ api: { servers: [{ id: 'closing', url: closing.url }, { id: 'good', url: good.url }] } });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(host.url, '/x'));
    expect(answers.map((res) => [res.status, res.json().backend])).to.deep.equal([[200, 'closing'], [200, 'good'], [200, 'good']]);
    expect(closing.hits).to.equal(2);
    expect(balancer.snapshot().pools.api!.servers.find((s) => s.id === 'closing')!.errors.reset).to.equal(1);
  });

  it('answers 504 when the connection is not made in time', async () => {
    const hole = await startBlackhole();
    cleanups.push(() => hole.close());
    const { host, balancer } = await proxyTo({ api: { retries: 0, timeouts: { connectMs: 150 }, servers: [{ id: 'hole', url: hole.url }] } });
    const started = Date.now();
    const res = await send(host.url, '/x', { headers: { accept: 'application/json' } });
    expect(res.status).to.equal(504);
    expect(res.json()).to.deep.include({ error: { status: 504, code: 'UPSTREAM_CONNECT_TIMEOUT', message: res.json<{ error: { message: string } }>().error.message } });
    expect(Date.now() - started).to.be.below(1000);
    expect(balancer.snapshot().pools.api!.servers[0]!.errors.timeout).to.equal(1);
  });

  it('queues a burst beyond maxConnections, and a wait that expires is a 503 QUEUE_TIMEOUT that no server is blamed for', async () => {
    // 2 servers x 2 connections, a burst of 14 to servers that take 400 ms: 4 served at once, the rest wait
    const slow = (id: string) => backend(id, (req, res, self) => setTimeout(() => res.end(JSON.stringify({ backend: self.id })), 400));
    const [s1, s2] = await Promise.all([slow('s1'), slow('s2')]);
    const { host, balancer } = await proxyTo({ api: { maxConnections: 2, queue: { timeoutMs: 600 }, passiveHealth: { consecutiveFailures: 1 }, servers: [{ id: 's1', url: s1.url }, { id: 's2', url: s2.url }] } });
    const answers = await Promise.all(Array.from({ length: 14 }, () => send(host.url, '/x', { headers: { accept: 'application/json' } })));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200).length, 'the first 4 and the 4 that waited one turn').to.be.at.least(8);
    const expired = answers.filter((answer) => answer.status === 503);
    expect(expired.length).to.be.above(0);
    for (const answer of expired) {
      expect(answer.json<{ error: { code: string } }>().error.code).to.equal('QUEUE_TIMEOUT');
      expect(answer.headers['retry-after']).to.equal('5');
    }
    const snapshot = balancer.snapshot().pools.api!;
    expect(snapshot.servers.map((server) => [server.health, server.errors.timeout, server.flags.ejections])).to.deep.equal([['healthy', 0, 0], ['healthy', 0, 0]]);
    expect(snapshot.queue).to.include({ depth: 0, expired: expired.length });
    expect(snapshot.queue.admitted).to.be.at.least(4);
  });

  it('answers 503 QUEUE_FULL at once when the queue is full', async () => {
    const hold = await backend('hold', (req, res) => setTimeout(() => res.end('{}'), 300));
    const { host } = await proxyTo({ api: { maxConnections: 1, queue: { size: 1, timeoutMs: 2000 }, servers: [{ id: 'hold', url: hold.url }] } });
    const started = Date.now();
    const answers = await Promise.all([send(host.url, '/a'), send(host.url, '/b'), send(host.url, '/c', { headers: { accept: 'application/json' } })]);
    expect(answers.map((answer) => answer.status).sort()).to.deep.equal([200, 200, 503]);
    const full = answers.find((answer) => answer.status === 503)!;
    expect(full.json<{ error: { code: string } }>().error.code).to.equal('QUEUE_FULL');
    expect(Date.now() - started).to.be.below(1500);
  });

  it('answers 504 when the server does not respond in time, and closes that socket', async () => {
    const hang = await backend('hang', () => {});
    const { host } = await proxyTo({ api: { timeouts: { responseMs: 150 }, servers: [{ id: 'hang', url: hang.url }] } });
    const res = await send(host.url, '/x');
    expect(res.status).to.equal(504);
    expect(res.body).to.match(/did not answer in time/);
    await waitFor('the hung server\'s socket to close', async () => (await openConnections(hang)) === 0);
  });

  it('ends the client connection when the server stalls mid-response, counting a timeout', async () => {
    const stalling = await backend('stalling', (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('a first part'); // and nothing more
    });
    const { host, balancer } = await proxyTo({ api: { timeouts: { responseMs: 150 }, servers: [{ id: 'stalling', url: stalling.url }] } });
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const url = new URL(host.url);
      http.get({ host: url.hostname, port: url.port, path: '/x', agent: false }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('ended normally'));
        res.on('error', () => resolve('connection closed'));
      }).on('error', () => resolve('connection closed'));
    });
    expect(outcome).to.equal('connection closed');
    expect(Date.now() - started).to.be.within(140, 1000);
    await waitFor('the timeout to be counted', () => balancer.snapshot().pools.api!.servers[0]!.errors.timeout === 1);
  });

  it('closes the connection of a client that stalls mid-upload, and aborts the server request', async () => {
    let serverSawAbort = false;
    const patient = await backend('patient', (req, res) => {
      req.on('data', () => {});
      req.on('close', () => (serverSawAbort = !req.complete));
      req.on('end', () => res.end('got it all'));
    });
    const { host } = await proxyTo({ api: { timeouts: { clientMs: 150 }, servers: [{ id: 'patient', url: patient.url }] } });
    const url = new URL(host.url);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b');
    const started = Date.now();
    await once(socket, 'close');
    expect(Date.now() - started).to.be.within(140, 1000);
    await waitFor('the server request to be aborted', () => serverSawAbort);
  });

  it('ends the client connection when the server resets mid-response', async () => {
    const broken = await backend('broken', (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { host, balancer } = await proxyTo({ api: { servers: [{ id: 'broken', url: broken.url }] } });
    const outcome = await new Promise<string>((resolve) => {
      const url = new URL(host.url);
      const req = http.get({ host: url.hostname, port: url.port, path: '/x', agent: false }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('ended normally'));
        res.on('error', () => resolve('connection closed'));
        res.on('aborted', () => resolve('connection closed'));
      });
      req.on('error', () => resolve('connection closed'));
    });
    expect(outcome).to.equal('connection closed');
    await waitFor('the reset to be counted', () => balancer.snapshot().pools.api!.servers[0]!.errors.reset === 1);
  });

  it('answers 503 with Retry-After at once when no server is eligible', async () => {
    const one = await backend('one');
    const { host, balancer } = await proxyTo({ api: { retryAfterS: 7, servers: [{ id: 'one', url: one.url }] } });
    balancer.pool('api').disable('one');
    const started = Date.now();
    const res = await send(host.url, '/x');
    expect(res.status).to.equal(503);
    expect(res.headers['retry-after']).to.equal('7');
    expect(res.headers['content-type']).to.match(/text\/plain/);
    expect(Date.now() - started).to.be.below(200);
    expect(one.hits).to.equal(0);
  });

  it('aborts the server request when the client goes away', async () => {
    let serverSawClose: () => void = () => {};
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    const slow = await backend('slow', (req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) serverSawClose();
      });
    });
    const { host, balancer } = await proxyTo({ api: { servers: [{ id: 'slow', url: slow.url }] } });
    const url = new URL(host.url);
    const req = http.get({ host: url.hostname, port: url.port, path: '/long', agent: false });
    req.on('error', () => {});
    await waitFor('the request to reach the server', () => slow.hits === 1);
    req.destroy();
    await closed;
    await waitFor('nothing in flight', () => balancer.snapshot().pools.api!.servers[0]!.active === 0);
  });

  it('never shows a server address in an error body', async () => {
    const dead = await refusedUrl();
    const { host } = await proxyTo({ api: { servers: [{ id: 'dead', url: dead }] } });
    for (const accept of ['application/json', 'text/html']) {
      const res = await send(host.url, '/x', { headers: { accept } });
      expect(res.status).to.equal(502);
      expect(res.body).to.not.include(new URL(dead).port).and.not.include('127.0.0.1').and.not.include('dead');
    }
    const json = await send(host.url, '/x', { headers: { accept: 'application/json' } });
    expect(json.json()).to.have.nested.property('error.code', 'UPSTREAM_CONNECT_FAILED');
  });

  it('leaves no socket open to a server after failures', async () => {
    const flaky = await backend('flaky', (req, res) => (req.url === '/reset' ? res.socket?.destroy() : res.end('ok')));
    const { host, balancer } = await proxyTo({ api: { servers: [{ id: 'flaky', url: flaky.url }] } });
    for (let i = 0; i < 5; i++) expect((await send(host.url, '/reset')).status).to.equal(502);
    for (let i = 0; i < 5; i++) expect((await send(host.url, '/fine')).status).to.equal(200);
    await balancer.close();
    await waitFor('every socket to the server to close', async () => (await openConnections(flaky)) === 0);
  });
});
