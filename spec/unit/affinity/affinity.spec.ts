import { expect } from 'chai';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Affinity, type Pinning } from '../../../middleware/affinity/affinity.js';
import { MemoryAffinityStore } from '../../../middleware/affinity/memory-store.js';
import type { PickContext } from '../../../middleware/algorithms/algorithm.js';
import type { Logger } from '../../../middleware/logger.js';
import { createBalancer, type PoolControl } from '../../../middleware/index.js';
import { normalizeOptions, type PoolOptions, type StickyOptions } from '../../../middleware/options.js';
import type { Pool } from '../../../middleware/pool/pool.js';
import { pick } from '../../support/pools.js';
import type { Server } from '../../../middleware/pool/server.js';

const SECRET = 'a-secret-of-at-least-16-chars';
const OLD_SECRET = 'the-previous-secret-0123456';
const TTL = 60_000;

const servers = (prefix: string, n = 3) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i + 1}`, url: `http://127.0.0.1:${4001 + i}` }));

interface Setup {
  affinity: Affinity;
  pools: Record<string, Pool>;
  controls: Record<string, PoolControl>;
  warnings: string[];
}

const open: Affinity[] = [];
const balancers: Array<{ close(): Promise<void> }> = [];

function setup(pools: Record<string, PoolOptions>, sticky: StickyOptions = {}, trustProxy = false): Setup {
  const routes = Object.keys(pools).map((name) => ({ path: `/${name}`, pool: name }));
  const config = normalizeOptions({ pools, routes, sticky: { secret: SECRET, ttlMs: TTL, ...sticky }, trustProxy });
  // the balancer gives real pools; the Affinity under test is this one, with its own store
  const balancer = createBalancer({ pools, routes, sticky: { secret: SECRET, ttlMs: TTL }, logger: { warn: () => {}, error: () => {} } });
  balancers.push(balancer);
  const built = Object.fromEntries(config.pools.map((poolConfig) => [poolConfig.name, balancer.poolInternal(poolConfig.name)]));
  const controls = Object.fromEntries(config.pools.map((poolConfig) => [poolConfig.name, balancer.pool(poolConfig.name)]));
  const warnings: string[] = [];
  const logger: Logger = { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) };
  const affinity = new Affinity(config.sticky!, { trustProxy, logger, countIntervalMs: 0, pools: Object.values(built) });
  open.push(affinity);
  return { affinity, pools: built, controls, warnings };
}

function request(cookie?: string, options: { encrypted?: boolean; headers?: Record<string, string> } = {}): IncomingMessage {
  const socket = new Socket();
  if (options.encrypted) Object.assign(socket, { encrypted: true });
  const req = new IncomingMessage(socket);
  req.headers = { ...options.headers, ...(cookie === undefined ? {} : { cookie }) };
  return req;
}

const context = (now: number): PickContext => ({ clientAddress: '127.0.0.1', method: 'GET', path: '/', headers: {}, now });

/** A browser, as far as one cookie goes. */
class Client {
  cookie: string | undefined;
  setCookies: string[] = [];

  header(): string | undefined {
    return this.cookie === undefined ? undefined : `other=1; sy=${this.cookie}`;
  }

  take(setCookie: string | undefined): void {
    if (setCookie === undefined) return;
    this.setCookies.push(setCookie);
    this.cookie = /^sy=([^;]*)/.exec(setCookie)![1];
  }
}

/** The same value with one bit of its last byte (the signature) flipped. */
function tamper(value: string): string {
  const bytes = Buffer.from(value, 'base64url');
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
  return bytes.toString('base64url');
}

/** One request's way through affinity, as the balancer goes: lookup, else pick, then pin. */
async function visit(affinity: Affinity, pool: Pool, client: Client, now = Date.now()): Promise<{ server: Server; pinning: Pinning | undefined; setCookie: string | undefined }> {
  const req = request(client.header());
  const pinning = await affinity.lookup(req, pool, now);
  const server = pinning?.server ?? pick(pool, context(now));
  if (!server) throw new Error('no server');
  const setCookie = affinity.pin(req, pool, server, pinning, now);
  client.take(setCookie);
  return { server, pinning, setCookie };
}

/** A new client's first two requests: the first cookie names the server, the second assigns the session. */
async function establish(affinity: Affinity, pool: Pool, client: Client, now = Date.now()): Promise<{ server: Server; pinning: Pinning | undefined; setCookie: string | undefined }> {
  const first = await visit(affinity, pool, client, now);
  const second = await visit(affinity, pool, client, now);
  expect(second.server).to.equal(first.server);
  expect(second.setCookie, 'the session is assigned on the second request').to.be.a('string');
  return second;
}

describe('Affinity', () => {
  it('keeps nothing in the store for a client that never sends its cookie back', async () => {
    const store = new MemoryAffinityStore();
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } }, { store });
    for (let i = 0; i < 1000; i++) await visit(affinity, pools.api!, new Client());
    expect(store.size).to.equal(0);
    const returning = new Client();
    await visit(affinity, pools.api!, returning);
    await visit(affinity, pools.api!, returning);
    expect(store.size).to.equal(1);
  });

  afterEach(async () => {
    await Promise.all(balancers.splice(0).map((balancer) => balancer.close()));
    await Promise.all(open.splice(0).map((affinity) => affinity.close()));
  });

  it('pins a new client, then honours its cookie without re-issuing it', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } });
    const api = pools.api!;
    const client = new Client();
    const first = await establish(affinity, api, client);
    expect(first.setCookie).to.match(/^sy=[A-Za-z0-9_-]+; /);
    expect(first.setCookie!.split('; ')).to.include.members(['HttpOnly', 'SameSite=Lax', 'Path=/', `Max-Age=${TTL / 1000}`]);
    for (let i = 0; i < 20; i++) {
      // round-robin alone would move on each time
      const again = await visit(affinity, api, client);
      expect(again.server).to.equal(first.server);
      expect(again.setCookie).to.equal(undefined);
    }
    expect(first.server.pinned).to.equal(1);
    expect(api.servers.reduce((sum, server) => sum + server.pinned + server.repinned, 0)).to.equal(1);
  });

  it('spreads new clients as the algorithm does and keeps each on its own server', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } });
    const clients = Array.from({ length: 6 }, () => new Client());
    const firstServers: string[] = [];
    for (const client of clients) firstServers.push((await visit(affinity, pools.api!, client)).server.id);
    expect(firstServers).to.deep.equal(['a1', 'a2', 'a3', 'a1', 'a2', 'a3']);
    for (let round = 0; round < 3; round++) {
      for (const [i, client] of clients.entries()) expect((await visit(affinity, pools.api!, client)).server.id).to.equal(firstServers[i]);
    }
  });

  it('does nothing for a pool that is not sticky: no lookup, no pin, synchronously', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true }, web: { servers: servers('w') } }, {}, false);
    const client = new Client();
    await visit(affinity, pools.api!, client);
    const result = affinity.lookup(request(client.header()), pools.web!, Date.now());
    expect(result).to.equal(undefined);
    expect(affinity.pin(request(client.header()), pools.web!, pools.web!.servers[0]!, undefined)).to.equal(undefined);
    expect(pools.web!.servers.every((server) => server.pinned === 0)).to.equal(true);
  });

  it('answers synchronously without a cookie, and with the in-memory store', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } });
    expect(affinity.lookup(request(), pools.api!)).to.equal(undefined);
    expect(affinity.lookup(request('a=1; b=2'), pools.api!)).to.equal(undefined);
    const client = new Client();
    const first = await visit(affinity, pools.api!, client);
    const result = affinity.lookup(request(client.header()), pools.api!);
    expect(result).to.not.be.instanceOf(Promise);
    expect((result as Pinning).server).to.equal(first.server);
  });

  for (const [why, takeOut] of [
    ['disabled', (control: PoolControl, server: Server) => void control.disable(server.id)],
    ['unhealthy', (_control: PoolControl, server: Server) => server.eject(Date.now() + 60_000, 'test ejection')],
  ] as const) {
    it(`re-pins when the pinned server is ${why}, and counts the move`, async () => {
      const { affinity, pools, controls } = setup({ api: { servers: servers('a'), sticky: true } });
      const api = pools.api!;
      const client = new Client();
      const before = (await visit(affinity, api, client)).server;
      takeOut(controls.api!, before);
      const moved = await visit(affinity, api, client);
      expect(moved.pinning?.server).to.equal(undefined);
      expect(moved.pinning?.pinnedTo).to.equal(before);
      expect(moved.server).to.not.equal(before);
      expect(moved.setCookie).to.be.a('string');
      expect(before.repinned).to.equal(1);
      expect(before.pinned).to.equal(0);
      expect(moved.server.pinned).to.equal(1);
      // the new pin holds, even once the old server is back
      await controls.api!.enable(before.id);
      before.readmit('test');
      for (let i = 0; i < 5; i++) expect((await visit(affinity, api, client)).server).to.equal(moved.server);
    });
  }

  it('re-pins when the pinned server was removed from the pool', async () => {
    const { affinity, pools, controls } = setup({ api: { servers: servers('a'), sticky: true } });
    const api = pools.api!;
    const client = new Client();
    const before = (await visit(affinity, api, client)).server;
    await controls.api!.removeServer(before.id, 0);
    const moved = await visit(affinity, api, client);
    expect(moved.pinning?.pinnedTo).to.equal(undefined);
    expect(api.servers).to.include(moved.server);
    expect(moved.setCookie).to.be.a('string');
    expect((await visit(affinity, api, client)).server).to.equal(moved.server);
  });

  it('keeps a draining server\'s pinned sessions until the drain deadline, then re-pins', async () => {
    const { affinity, pools, controls } = setup({ api: { servers: servers('a', 2), sticky: true, drainTimeoutMs: 5000 } });
    const api = pools.api!;
    const client = new Client();
    const pinned = (await visit(affinity, api, client)).server;
    await controls.api!.drain(pinned.id); // nothing in flight: resolves at once, the server stays draining
    expect(pinned.state).to.equal('draining');
    expect(api.eligible).to.not.include(pinned);
    const during = await visit(affinity, api, client, pinned.drainDeadline - 1);
    expect(during.server).to.equal(pinned);
    const after = await visit(affinity, api, client, pinned.drainDeadline + 1);
    expect(after.server).to.not.equal(pinned);
    expect(pinned.repinned).to.equal(1);
    // a new client never lands on the draining server
    expect((await visit(affinity, api, new Client(), pinned.drainDeadline - 1)).server).to.not.equal(pinned);
  });

  it('gives new clients of one server within a second the same first cookie, naming no address', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a', 1), sticky: true } });
    const now = Date.now();
    const one = await visit(affinity, pools.api!, new Client(), now);
    const two = await visit(affinity, pools.api!, new Client(), now);
    expect(one.setCookie).to.be.a('string');
    expect(two.setCookie).to.equal(one.setCookie);
    expect(one.setCookie).to.not.include('127.0.0.1').and.not.include('a1');
    const value = Buffer.from(/^sy=([^;]*)/.exec(one.setCookie!)![1]!, 'base64url').toString('latin1');
    expect(value).to.not.include('127.0.0.1').and.not.include('4001');
    // the HTTPS variant is cached beside it: the same value, plus Secure
    const secure = affinity.pin(request(undefined, { encrypted: true }), pools.api!, one.server, undefined, now)!;
    expect(secure.split('; ')).to.include('Secure');
    expect(one.setCookie!.split('; ')).to.not.include('Secure');
    expect(secure.split('; ')[0]).to.equal(one.setCookie!.split('; ')[0]);
  });

  it('assigns and stores the session on the second request, re-issuing once, then sends nothing', async () => {
    const store = new MemoryAffinityStore();
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } }, { store });
    const client = new Client();
    const first = await visit(affinity, pools.api!, client);
    expect(store.size).to.equal(0);
    const second = await visit(affinity, pools.api!, client);
    expect(second.server).to.equal(first.server);
    expect(second.setCookie).to.be.a('string').and.not.equal(first.setCookie);
    expect(store.size).to.equal(1);
    const third = await visit(affinity, pools.api!, client);
    expect(third.server).to.equal(first.server);
    expect(third.setCookie).to.equal(undefined);
    expect(third.pinning!.session.equals(Buffer.alloc(third.pinning!.session.length))).to.equal(false);
    expect(first.server.pinned).to.equal(1);
  });

  it('refuses a forged first cookie', async () => {
    const store = new MemoryAffinityStore();
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } }, { store });
    const client = new Client();
    await visit(affinity, pools.api!, client);
    client.cookie = tamper(client.cookie!);
    const forged = await visit(affinity, pools.api!, client);
    expect(forged.pinning).to.equal(undefined);
    expect(store.size).to.equal(0);
  });

  describe('ignores bad cookies and re-picks within the pool:', () => {
    const cases: Array<[string, (good: string) => string, number?]> = [
      ['a tampered signature', (good) => `sy=${tamper(good)}`],
      ['a wrong secret', () => ''], // filled in below, needs another resolver
      ['an expired cookie', (good) => `sy=${good}`, TTL + 1000],
      ['malformed base64', (good) => `sy=${good.slice(0, 8)}*${good.slice(9)}`],
      ['a huge value', () => `sy=${'A'.repeat(5000)}`],
      ['repeated names, the first one bad', (good) => `sy=garbage; sy=${good}`],
      ['an empty value', () => 'sy='],
      ['a percent-encoded value', (good) => `sy=${encodeURIComponent(good + '==')}`],
      ['a cookie issued by another pool', () => ''], // filled in below
    ];
    for (const [name, makeHeader, later] of cases) {
      it(name, async () => {
        const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true }, web: { servers: servers('w'), sticky: true } }, {}, false);
        const api = pools.api!;
        const client = new Client();
        await visit(affinity, api, client);
        let header = makeHeader(client.cookie!);
        if (name === 'a wrong secret') {
          const other = setup({ api: { servers: servers('a'), sticky: true } }, { secret: 'an-entirely-different-secret' });
          const stranger = new Client();
          await visit(other.affinity, other.pools.api!, stranger);
          header = `sy=${stranger.cookie!}`;
        }
        if (name === 'a cookie issued by another pool') {
          const stranger = new Client();
          await visit(affinity, pools.web!, stranger);
          header = `sy=${stranger.cookie!}`;
        }
        const now = Date.now() + (later ?? 0);
        const req = request(header);
        let pinning: Pinning | undefined;
        expect(() => (pinning = affinity.lookup(req, api, now) as Pinning | undefined)).to.not.throw();
        expect(pinning?.server).to.equal(undefined);
        const server = pool(api, pinning, now);
        expect(api.servers).to.include(server);
        const setCookie = affinity.pin(req, api, server, pinning, now);
        expect(setCookie, 'a fresh cookie').to.match(/^sy=/);
      });
    }

    function pool(api: Pool, pinning: Pinning | undefined, now: number): Server {
      return pinning?.server ?? pick(api, context(now))!;
    }
  });

  it('takes the first of repeated cookie names when it is valid', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } });
    const client = new Client();
    const first = await visit(affinity, pools.api!, client);
    const pinning = affinity.lookup(request(`sy=${client.cookie!}; sy=garbage`), pools.api!) as Pinning;
    expect(pinning.server).to.equal(first.server);
  });

  it('keeps one cookie for several sticky pools: a pin in one leaves the other\'s in place', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true }, web: { servers: servers('w'), sticky: true } });
    const client = new Client();
    const onApi = (await visit(affinity, pools.api!, client)).server;
    const onWeb = await visit(affinity, pools.web!, client);
    expect(onWeb.pinning?.server, 'api\'s cookie means nothing to web').to.equal(undefined);
    expect(onWeb.setCookie).to.be.a('string');
    for (let i = 0; i < 4; i++) {
      expect((await visit(affinity, pools.api!, client)).server).to.equal(onApi);
      expect((await visit(affinity, pools.web!, client)).server).to.equal(onWeb.server);
    }
    expect(client.setCookies).to.have.length(2);
  });

  it('accepts cookies signed with a previous secret and re-issues them under the current one', async () => {
    const old = setup({ api: { servers: servers('a'), sticky: true } }, { secret: OLD_SECRET });
    const client = new Client();
    const server = (await visit(old.affinity, old.pools.api!, client)).server;

    // a new instance after rotation: its own (empty) store, so the cookie alone must route
    const rotated = setup({ api: { servers: servers('a'), sticky: true } }, { previousSecrets: [OLD_SECRET] });
    const honoured = await visit(rotated.affinity, rotated.pools.api!, client);
    expect(honoured.server.id).to.equal(server.id);
    expect(honoured.setCookie, 're-signed with the current secret').to.be.a('string');

    const only = setup({ api: { servers: servers('a'), sticky: true } });
    const oldCookie = client.setCookies[0]!.match(/^sy=([^;]*)/)![1]!;
    expect(only.affinity.lookup(request(`sy=${oldCookie}`), only.pools.api!)).to.equal(undefined);
    const current = only.affinity.lookup(request(client.header()), only.pools.api!) as Pinning;
    expect(current.server!.id).to.equal(server.id);
  });

  it('routes by the cookie alone when the store has forgotten the session, and writes it back', async () => {
    const store = new MemoryAffinityStore();
    const first = setup({ api: { servers: servers('a'), sticky: true } });
    const client = new Client();
    const server = (await visit(first.affinity, first.pools.api!, client)).server;
    const second = setup({ api: { servers: servers('a'), sticky: true } }, { store });
    const seen = await visit(second.affinity, second.pools.api!, client);
    expect(seen.pinning?.storedId).to.equal(undefined);
    expect(seen.server.id).to.equal(server.id);
    expect(store.size).to.equal(1);
    expect((await visit(second.affinity, second.pools.api!, client)).pinning?.storedId).to.equal(server.id);
  });

  it('trusts the store over the cookie, so that instances sharing it agree after a re-pin', async () => {
    const store = new MemoryAffinityStore();
    const one = setup({ api: { servers: servers('a'), sticky: true } }, { store });
    const two = setup({ api: { servers: servers('a'), sticky: true } }, { store });
    const client = new Client();
    const original = (await establish(one.affinity, one.pools.api!, client)).server;
    const staleCookie = client.cookie;
    // instance two sees the server down and re-pins
    await two.controls.api!.disable(original.id);
    const moved = (await visit(two.affinity, two.pools.api!, client)).server;
    expect(moved.id).to.not.equal(original.id);
    // a request still carrying the old cookie reaches instance one, where the old server is fine
    const pinning = one.affinity.lookup(request(`sy=${staleCookie!}`), one.pools.api!) as Pinning;
    expect(pinning.server!.id).to.equal(moved.id);
    expect(one.affinity.pin(request(), one.pools.api!, pinning.server!, pinning), 'the stale cookie is replaced').to.be.a('string');
  });

  it('refreshes the cookie once half its life is gone, keeping the session', async () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true } });
    const client = new Client();
    const start = Date.now();
    const first = await establish(affinity, pools.api!, client, start);
    const early = await visit(affinity, pools.api!, client, start + TTL * 0.4);
    expect(early.setCookie).to.equal(undefined);
    const refreshed = await visit(affinity, pools.api!, client, start + TTL * 0.6);
    expect(refreshed.setCookie).to.be.a('string');
    expect(refreshed.server).to.equal(first.server);
    expect(refreshed.pinning!.session.equals(early.pinning!.session)).to.equal(true);
    const next = await visit(affinity, pools.api!, client, start + TTL * 1.3);
    expect(next.server, 'alive past the first expiry thanks to the refresh').to.equal(first.server);
    expect(next.pinning!.session.equals(refreshed.pinning!.session)).to.equal(true);
  });

  it('marks the cookie Secure for HTTPS requests, and trusts X-Forwarded-Proto only with trustProxy', () => {
    const pools = { api: { servers: servers('a'), sticky: true } };
    const plain = setup(pools);
    const api = plain.pools.api!;
    const pin = (affinity: Affinity, pool: Pool, req: IncomingMessage) => affinity.pin(req, pool, pool.servers[0]!, undefined)!.split('; ');
    expect(pin(plain.affinity, api, request())).to.not.include('Secure');
    expect(pin(plain.affinity, api, request(undefined, { encrypted: true }))).to.include('Secure');
    expect(pin(plain.affinity, api, request(undefined, { headers: { 'x-forwarded-proto': 'https' } }))).to.not.include('Secure');
    const trusting = setup(pools, {}, true);
    expect(pin(trusting.affinity, trusting.pools.api!, request(undefined, { headers: { 'x-forwarded-proto': 'https, http' } }))).to.include('Secure');
    expect(pin(trusting.affinity, trusting.pools.api!, request(undefined, { headers: { 'x-forwarded-proto': 'http' } }))).to.not.include('Secure');
  });

  it('never pins a server from outside the pool', () => {
    const { affinity, pools } = setup({ api: { servers: servers('a'), sticky: true }, web: { servers: servers('w'), sticky: true } });
    expect(affinity.pin(request(), pools.api!, pools.web!.servers[0]!, undefined)).to.equal(undefined);
  });

  it('strips the affinity cookie from the forwarded header unless the pool forwards it', () => {
    const { affinity, pools } = setup({
      api: { servers: servers('a'), sticky: true },
      raw: { servers: servers('r'), sticky: { forwardCookie: true } },
      web: { servers: servers('w') },
    });
    const header = 'a=1; sy=abc; b=2';
    expect(affinity.forwardedCookieHeader(pools.api!, header)).to.equal('a=1; b=2');
    expect(affinity.forwardedCookieHeader(pools.raw!, header)).to.equal(header);
    expect(affinity.forwardedCookieHeader(pools.web!, header)).to.equal('a=1; b=2');
    expect(affinity.forwardedCookieHeader(pools.api!, 'sy=abc')).to.equal(undefined);
    expect(affinity.forwardedCookieHeader(pools.api!, undefined)).to.equal(undefined);
  });

  it('counts pinned sessions from the store, dropping expired ones', async () => {
    let clock = Date.now();
    const store = new MemoryAffinityStore({ now: () => clock });
    const { affinity, pools } = setup({ api: { servers: servers('a', 2), sticky: true } }, { store });
    const api = pools.api!;
    const clients = Array.from({ length: 5 }, () => new Client());
    // a session is stored (and counted) once its cookie comes back
    for (const client of clients) await visit(affinity, api, client, clock);
    await affinity.refreshPinned(clock);
    expect(api.servers.map((server) => server.pinned)).to.deep.equal([0, 0]);
    for (const client of clients) await visit(affinity, api, client, clock);
    await affinity.refreshPinned(clock);
    expect(api.servers.map((server) => server.pinned)).to.deep.equal([3, 2]);
    clock += TTL / 2;
    await visit(affinity, api, clients[0]!, clock); // the only one still in use
    clock += TTL / 2 + 1;
    await affinity.refreshPinned(clock);
    expect(api.servers.map((server) => server.pinned)).to.deep.equal([1, 0]);
  });

  it('counts its own pins when the store cannot count', async () => {
    const bare = new MemoryAffinityStore();
    // a store with only the required methods
    const store = { get: bare.get.bind(bare), set: bare.set.bind(bare), close: () => bare.close() };
    const { affinity, pools } = setup({ api: { servers: servers('a', 2), sticky: true } }, { store });
    for (let i = 0; i < 3; i++) {
      const client = new Client();
      await visit(affinity, pools.api!, client);
      await visit(affinity, pools.api!, client);
    }
    for (const server of pools.api!.servers) server.pinned = -1; // prove refreshPinned rewrites them
    await affinity.refreshPinned();
    expect(pools.api!.servers.map((server) => server.pinned)).to.deep.equal([2, 1]);
  });
});
