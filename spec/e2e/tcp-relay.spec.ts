import { expect } from 'chai';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { createBalancer, type Balancer, type PoolOptions } from '../../middleware/index.js';
import { startBlackhole, type Blackhole } from '../support/blackhole.js';
import { block, closedPort, connectTo, exchange, readAll, startEcho, startTcpServer, writeBlocks, type TcpServer } from '../support/tcp-servers.js';
import { sleep, waitFor } from '../support/wait.js';

const MB20 = 320; // blocks of 64 KiB

/** A half-open client sees the other side's end as 'end' (it does not close by itself), a reset as 'close'. */
function ended(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve();
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
}

describe('TCP pools: the relay', () => {
  let balancer: Balancer | undefined;
  let listener: net.Server | undefined;
  const servers: TcpServer[] = [];

  async function listen(pool: Omit<PoolOptions, 'protocol'>): Promise<number> {
    balancer = createBalancer({ pools: { p: { protocol: 'tcp', ...pool } as PoolOptions } });
    listener = balancer.listenTcp(0, 'p', { host: '127.0.0.1' });
    await once(listener, 'listening');
    return (listener.address() as AddressInfo).port;
  }

  async function server(start: Promise<TcpServer>): Promise<TcpServer> {
    const started = await start;
    servers.push(started);
    return started;
  }

  afterEach(async () => {
    await balancer?.close();
    balancer = undefined;
    listener = undefined;
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('relays both ways and honours a half-close: the reply comes after the client has ended', async () => {
    const late = await server(startTcpServer((socket) => {
      let got = '';
      socket.on('data', (chunk: Buffer) => (got += chunk.toString()));
      socket.on('end', () => setTimeout(() => socket.end(`got ${got}`), 50));
    }));
    const port = await listen({ servers: [{ id: 'a', url: late.url }] });
    expect(await exchange(port, 'hello, world')).to.equal('got hello, world');
    await waitFor('the connection counted as closed', () => balancer!.snapshot().pools.p!.servers[0]!.active === 0);
    const tcp = balancer!.snapshot().pools.p!.servers[0]!.tcp!;
    expect(tcp.connections).to.equal(1);
    expect(tcp.bytesIn).to.equal(12);
    expect(tcp.bytesOut).to.equal(16);
    expect(tcp.closed.client).to.equal(1);
    expect(tcp.connectMs.p50).to.be.a('number');
  });

  it('works as a handler on a net.Server of the caller (net.createServer(balancer.tcp(pool)))', async () => {
    const echo = await server(startEcho());
    balancer = createBalancer({ pools: { p: { protocol: 'tcp', servers: [{ id: 'a', url: echo.url }] } } });
    const own = net.createServer(balancer.tcp('p'));
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    try {
      expect(await exchange((own.address() as AddressInfo).port, 'ping')).to.equal('ping');
    } finally {
      own.close();
    }
  });

  it('moves 20 MB client → server byte-exact with a slow reader, holding little and pausing the writer', async function () {
    this.timeout(30000);
    let received: Promise<{ bytes: number; sha256: string }> | undefined;
    const sink = await server(startTcpServer((socket) => {
      received = readAll(socket, 400);
      void received.then(() => socket.end());
    }));
    const port = await listen({ servers: [{ id: 'a', url: sink.url }] });
    const client = await connectTo(port);
    let maxHeld = 0;
    const sampler = setInterval(() => (maxHeld = Math.max(maxHeld, balancer!.snapshot().pools.p!.servers[0]!.tcp!.bufferedBytes)), 5);
    let writtenDuringStall = 0;
    const stallEnds = Date.now() + 350;
    const sent = await writeBlocks(client, MB20, (i) => {
      if (Date.now() < stallEnds) writtenDuringStall = i + 1;
    });
    client.end();
    const got = await received!;
    clearInterval(sampler);
    expect(got.bytes).to.equal(MB20 * 64 * 1024);
    expect(got.sha256).to.equal(sent.sha256);
    expect(sent.waits, 'write() asked the writer to wait').to.be.above(0);
    // while the reader stalled, what was written is bounded by socket buffers, nowhere near 20 MB
    expect(writtenDuringStall * 64 * 1024).to.be.below(16 * 1024 * 1024);
    expect(maxHeld, 'bytes held in the relay').to.be.below(2 * 1024 * 1024);
  });

  it('moves 20 MB server → client byte-exact with a slow client, the server paused by backpressure', async function () {
    this.timeout(30000);
    let sent: Promise<{ waits: number; sha256: string }> | undefined;
    const source = await server(startTcpServer((socket) => {
      sent = writeBlocks(socket, MB20);
      void sent.then(() => socket.end());
    }));
    const port = await listen({ servers: [{ id: 'a', url: source.url }] });
    const client = await connectTo(port);
    let maxHeld = 0;
    const sampler = setInterval(() => (maxHeld = Math.max(maxHeld, balancer!.snapshot().pools.p!.servers[0]!.tcp!.bufferedBytes)), 5);
    const got = await readAll(client, 400);
    clearInterval(sampler);
    client.end();
    const wrote = await sent!;
    expect(got.bytes).to.equal(MB20 * 64 * 1024);
    expect(got.sha256).to.equal(wrote.sha256);
    expect(wrote.waits, 'the server was made to wait').to.be.above(0);
    expect(maxHeld, 'bytes held in the relay').to.be.below(2 * 1024 * 1024);
    await waitFor('bytes counted', () => balancer!.snapshot().pools.p!.servers[0]!.tcp!.bytesOut === MB20 * 64 * 1024);
  });

  it('holds what a client sends before the server connects and delivers it in order', async function () {
    this.timeout(15000);
    const hole = await startBlackhole();
    try {
      let received: Promise<{ bytes: number; sha256: string }> | undefined;
      const sink = await server(startTcpServer((socket) => {
        received = readAll(socket);
        void received.then(() => socket.end());
      }));
      // the first pick hangs in connect for 300 ms while the client already sends 4 MB
      const port = await listen({ algorithm: 'round-robin', timeouts: { connectMs: 300 }, servers: [{ id: 'hole', url: hole.url.replace('http:', 'tcp:') }, { id: 'sink', url: sink.url }] });
      const client = await connectTo(port);
      const sent = await writeBlocks(client, 64);
      client.end();
      // 4 MB fit in socket buffers: the writer may be done before the connect timeout even passes
      await waitFor('the sink connected after the failover', () => received !== undefined, 3000);
      const got = await received!;
      expect(got.sha256).to.equal(sent.sha256);
      const hole0 = balancer!.snapshot().pools.p!.servers[0]!.tcp!;
      expect(hole0.connectErrors.timeout).to.equal(1);
    } finally {
      await hole.close();
    }
  });

  it('fails over to the next server on a refused connect, and counts the error', async () => {
    const echo = await server(startEcho('b'));
    const dead = await closedPort();
    const port = await listen({ algorithm: 'round-robin', servers: [{ id: 'dead', url: `tcp://127.0.0.1:${dead}` }, { id: 'b', url: echo.url }] });
    const answers = await Promise.all([1, 2, 3, 4].map((i) => exchange(port, `x${i}`)));
    expect(answers.sort()).to.deep.equal(['b:x1', 'b:x2', 'b:x3', 'b:x4']);
    const [deadStats, live] = balancer!.snapshot().pools.p!.servers.map((s) => s.tcp!);
    expect(deadStats!.connectErrors.refused).to.be.at.least(2);
    expect(live!.connections).to.equal(4);
  });

  it('closes the client when every server refuses', async () => {
    const port = await listen({ servers: [{ id: 'dead', url: `tcp://127.0.0.1:${await closedPort()}` }] });
    expect(await exchange(port, 'anyone?')).to.equal('');
  });

  it('closes both sides after idleMs without a byte either way', async () => {
    const echo = await server(startEcho());
    const port = await listen({ timeouts: { idleMs: 200 }, servers: [{ id: 'a', url: echo.url }] });
    const client = await connectTo(port);
    client.write('one');
    await once(client, 'data');
    const started = Date.now();
    await ended(client);
    expect(Date.now() - started).to.be.within(150, 1500);
    await waitFor('the backend side closed too', () => echo.sockets.size === 0);
    expect(balancer!.snapshot().pools.p!.servers[0]!.tcp!.closed.idle).to.equal(1);
  });

  for (const version of ['v1', 'v2'] as const) {
    it(`writes a PROXY ${version} header before the client's bytes`, async () => {
      let first: Buffer = Buffer.alloc(0);
      const raw = await server(startTcpServer((socket) => {
        socket.on('data', (chunk: Buffer) => {
          first = Buffer.concat([first, chunk]);
          if (first.includes('hello')) socket.end();
        });
      }));
      const port = await listen({ proxyProtocol: version, servers: [{ id: 'raw', url: raw.url }] });
      const client = await connectTo(port);
      const clientPort = client.localPort!;
      client.end('hello');
      await ended(client);
      if (version === 'v1') {
        expect(first.toString('latin1')).to.equal(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${port}\r\nhello`);
      } else {
        const expected = Buffer.concat([
          Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x21, 0x11, 0x00, 12, 127, 0, 0, 1, 127, 0, 0, 1]),
          Buffer.from([clientPort >> 8, clientPort & 0xff, port >> 8, port & 0xff]), Buffer.from('hello'),
        ]);
        expect(first.toString('hex')).to.equal(expected.toString('hex'));
      }
      await waitFor('closed', () => balancer!.snapshot().pools.p!.servers[0]!.active === 0);
      // the header is ours: only the client's bytes count as received from it
      expect(balancer!.snapshot().pools.p!.servers[0]!.tcp!.bytesIn).to.equal(5);
    });
  }

  it('passes a full server over (maxConnections) and refuses when all are full', async () => {
    const a = await server(startEcho('a'));
    const b = await server(startEcho('b'));
    const port = await listen({ maxConnections: 1, servers: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }] });
    const first = await connectTo(port);
    const second = await connectTo(port);
    await waitFor('two open', () => a.sockets.size === 1 && b.sockets.size === 1);
    expect(await exchange(port, 'third')).to.equal('');
    first.destroy();
    await waitFor('a free again', () => balancer!.snapshot().pools.p!.servers.some((s) => s.active === 0));
    expect(await exchange(port, 'fourth')).to.match(/^[ab]:fourth$/);
    second.destroy();
  });

  it('least-connections by default: a held connection sends the next elsewhere', async () => {
    const a = await server(startEcho('a'));
    const b = await server(startEcho('b'));
    const port = await listen({ servers: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }] });
    const held = await connectTo(port);
    await waitFor('one open', () => a.sockets.size + b.sockets.size === 1);
    const heldOn = a.sockets.size === 1 ? 'a' : 'b';
    for (let i = 0; i < 3; i++) expect(await exchange(port, 'n')).to.equal(`${heldOn === 'a' ? 'b' : 'a'}:n`);
    held.destroy();
  });

  it('round robin alternates; ip-hash keeps a client address on one server', async () => {
    const a = await server(startEcho('a'));
    const b = await server(startEcho('b'));
    let port = await listen({ algorithm: 'round-robin', servers: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }] });
    const rr = [];
    for (let i = 0; i < 4; i++) rr.push((await exchange(port, '')).slice(0, 1));
    expect(rr.join('')).to.be.oneOf(['abab', 'baba']);
    await balancer!.close();
    port = await listen({ algorithm: 'ip-hash', servers: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }] });
    const hashed = new Set<string>();
    for (let i = 0; i < 6; i++) hashed.add((await exchange(port, '')).slice(0, 1));
    expect(hashed.size).to.equal(1);
  });

  it('runs a custom algorithm guarded: a throw refuses that connection, the next works', async () => {
    const a = await server(startEcho('a'));
    let calls = 0;
    const port = await listen({
      algorithm: { pick: (servers, context) => { if (calls++ === 0) throw new Error('boom'); expect(context.clientAddress).to.match(/127\.0\.0\.1/); return servers[0]; } },
      servers: [{ id: 'a', url: a.url }],
    });
    expect(await exchange(port, 'x')).to.equal('');
    expect(await exchange(port, 'y')).to.equal('a:y');
  });

  it('survives clients and servers that reset mid-stream', async () => {
    const rude = await server(startTcpServer((socket) => socket.once('data', () => socket.resetAndDestroy())));
    const port = await listen({ servers: [{ id: 'rude', url: rude.url }] });
    for (let i = 0; i < 5; i++) {
      const client = await connectTo(port);
      client.on('error', () => {});
      client.write(block(i));
      if (i % 2 === 0) client.resetAndDestroy();
      await ended(client);
    }
    await waitFor('all released', () => balancer!.snapshot().pools.p!.servers[0]!.active === 0);
    await sleep(20);
  });
});

export type { Blackhole };
