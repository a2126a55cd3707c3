import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { serverToken, signValue, verifyValue } from '../../middleware/affinity/cookie-value.js';
import { createBalancer, type Balancer, type ServerSnapshot } from '../../middleware/index.js';
import { echo, startBackends, type Backend, type Handler } from '../support/backends.js';
import { FLAVOURS, send, startHost, type Flavour, type Host, type RawResponse } from '../support/hosts.js';
import { sleep } from '../support/load.js';

const SECRET = 'sticky-e2e-secret-0123456789';
const OTHER_SECRET = 'another-balancers-secret-9876';
const NEW_SECRET = 'the-rotated-in-secret-abcdefgh';
const COOKIE = 'sy';
const TTL_MS = 120_000;
const DRAIN_MS = 400;

/** Echo, plus two cookies of the backend's own on `…/set-cookies`. */
const APP_COOKIES = ['app_session=abc123; Path=/; HttpOnly', 'theme=dark; Path=/; Max-Age=600'];
const handler: Handler = (req, res, backend) => {
  if (req.url?.includes('set-cookies')) res.setHeader('set-cookie', APP_COOKIES);
  echo(req, res, backend);
};

interface Reply {
  status: number;
  /** Which backend answered (from the echo body). */
  backend: string;
  /** The Cookie header the backend received. */
  seenCookie: string | undefined;
  setCookies: string[];
  /** The affinity Set-Cookie, if the balancer added one. */
  affinity: { value: string; line: string; attributes: string[] } | undefined;
  raw: RawResponse;
}

async function get(base: string, path: string, cookie?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const raw = await send(base, path, { headers: cookie === undefined ? headers : { ...headers, cookie } });
  const setCookies = raw.headers['set-cookie'] ?? [];
  const line = setCookies.find((entry) => entry.startsWith(`${COOKIE}=`));
  let backend = '';
  let seenCookie: string | undefined;
  if (raw.status === 200) {
    const body = raw.json<{ backend: string; headers: Record<string, string | undefined> }>();
    backend = body.backend;
    seenCookie = body.headers.cookie;
  }
  let affinity: Reply['affinity'];
  if (line !== undefined) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    affinity = { value: pair!.slice(COOKIE.length + 1), line, attributes: attributes.map((a) => a.toLowerCase()) };
  }
  return { status: raw.status, backend, seenCookie, setCookies, affinity, raw };
}

/** A new client's first two requests: the first cookie names the server, the second assigns the session; the second reply. */
async function establish(base: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const first = await get(base, path, undefined, headers);
  expect(first.affinity, 'a first cookie').to.not.equal(undefined);
  const second = await get(base, path, cookie(first.affinity!.value), headers);
  expect(second.backend, 'the first cookie holds').to.equal(first.backend);
  expect(second.affinity, 'the session is assigned on the second request').to.not.equal(undefined);
  return second;
}

/** The session id inside a cookie value this suite's balancers signed (undefined if it does not verify). */
function sessionOf(value: string, secrets: string[] = [SECRET]): string | undefined {
  return verifyValue(value, secrets, Date.now())?.value.session.toString('base64url');
}

const cookie = (value: string): string => `${COOKIE}=${value}`;
/** The session of a first cookie, before it comes back. */
const UNASSIGNED = Buffer.alloc(12).toString('base64url');

async function openSocket(url: string, cookieHeader?: string): Promise<WebSocket> {
  const socket = new WebSocket(url, cookieHeader === undefined ? {} : { headers: { cookie: cookieHeader } });
  await once(socket, 'open');
  return socket;
}

/** Open a WebSocket and keep the Set-Cookie lines of its handshake answer. */
async function openSocketWithHandshake(url: string, cookieHeader?: string): Promise<{ socket: WebSocket; setCookies: string[] }> {
  const socket = new WebSocket(url, cookieHeader === undefined ? {} : { headers: { cookie: cookieHeader } });
  const [[response]] = await Promise.all([once(socket, 'upgrade') as Promise<[IncomingMessage]>, once(socket, 'open')]);
  return { socket, setCookies: response.headers['set-cookie'] ?? [] };
}

async function ask(socket: WebSocket, text: string): Promise<{ backend: string; cookie: string | null }> {
  socket.send(text);
  const [data] = await once(socket, 'message');
  return JSON.parse(String(data)) as { backend: string; cookie: string | null };
}

describe('sticky sessions, end to end (memory store)', () => {
  let backends: Backend[];
  let others: Backend[];
  let ids: string[];
  let otherIds: string[];

  before(async () => {
    // long, distinctive ids: a two-letter id could turn up in random bytes by chance
    backends = await startBackends(3, 'sticky-backend-', handler);
    others = await startBackends(2, 'other-pool-backend-', handler);
    ids = backends.map((b) => b.id);
    otherIds = others.map((b) => b.id);
    for (const backend of backends) {
      const wss = new WebSocketServer({ server: backend.server });
      wss.on('headers', (headers) => headers.push('Set-Cookie: ws_app=1; Path=/'));
      wss.on('connection', (socket, req) =>
        socket.on('message', () => socket.send(JSON.stringify({ backend: backend.id, cookie: req.headers.cookie ?? null }))),
      );
    }
  });

  after(async () => {
    await Promise.all([...backends, ...others].map((b) => b.close()));
  });

  for (const flavour of FLAVOURS) {
    describe(`through ${flavour}`, () => {
      interface Made {
        balancer: Balancer;
        host: Host;
        warnings: string[];
        errors: string[];
      }
      const made: Made[] = [];
      const sockets: WebSocket[] = [];

      async function make(options: { secret?: string; previousSecrets?: string[]; trustProxy?: boolean } = {}): Promise<Made> {
        const warnings: string[] = [];
        const errors: string[] = [];
        const servers = (list: Backend[]) => list.map((b) => ({ id: b.id, url: b.url }));
        const balancer = createBalancer({
          pools: {
            api: { servers: servers(backends), sticky: true, drainTimeoutMs: DRAIN_MS },
            fwd: { servers: servers(backends), sticky: { forwardCookie: true } },
            other: { servers: servers(others), sticky: true },
          },
          routes: [
            { path: '/api', pool: 'api' },
            { path: '/fwd', pool: 'fwd' },
            { path: '/other', pool: 'other' },
          ],
          sticky: { secret: options.secret ?? SECRET, previousSecrets: options.previousSecrets ?? [], cookieName: COOKIE, ttlMs: TTL_MS },
          trustProxy: options.trustProxy ?? false,
          logger: { warn: (message) => warnings.push(message), error: (message) => errors.push(message) },
        });
        const host = await startHost(flavour, balancer);
        const one = { balancer, host, warnings, errors };
        made.push(one);
        return one;
      }

      const serverOf = (balancer: Balancer, id: string, pool = 'api'): ServerSnapshot | undefined =>
        balancer.snapshot().pools[pool]!.servers.find((s) => s.id === id);

      afterEach(async () => {
        for (const socket of sockets.splice(0)) socket.terminate();
        for (const { host, balancer } of made.splice(0)) {
          await host.close();
          await balancer.close();
        }
      });

      // ----- 1 ------------------------------------------------------------------------------
      it('sets an opaque affinity cookie: no server id, address, port or URL in it, HttpOnly, SameSite=Lax, Path=/, Max-Age from the TTL', async () => {
        const { host } = await make();
        const replies = [await get(host.url, '/api/a'), await get(host.url, '/api/b'), await get(host.url, '/api/c')];
        expect(replies.map((r) => r.backend).sort(), 'one cookie per server').to.deep.equal([...ids].sort());
        for (const reply of replies) {
          expect(reply.status).to.equal(200);
          expect(reply.affinity, 'an affinity Set-Cookie').to.not.equal(undefined);
          const { value, line, attributes } = reply.affinity!;
          expect(sessionOf(value), 'signed with the secret').to.be.a('string');
          const readings = [
            value,
            line,
            decodeURIComponent(value),
            Buffer.from(value, 'base64url').toString('latin1'),
            Buffer.from(value, 'base64url').toString('utf8'),
            Buffer.from(value, 'base64').toString('latin1'),
          ];
          for (const backend of [...backends, ...others]) {
            for (const secret of [backend.id, backend.url, `127.0.0.1:${backend.port}`, String(backend.port), '127.0.0.1', 'http://', 'localhost']) {
              for (const reading of readings) expect(reading, `"${secret}" readable in the cookie`).to.not.include(secret);
            }
          }
          expect(attributes).to.have.members(['httponly', 'samesite=lax', 'path=/', `max-age=${TTL_MS / 1000}`]);
          expect(attributes, 'no Secure over plain http').to.not.include('secure');
        }
      });

      it('marks the cookie Secure when X-Forwarded-Proto: https comes with trustProxy on, and not when trustProxy is off', async () => {
        const trusting = await make({ trustProxy: true });
        const untrusting = await make({ trustProxy: false });
        const https = { 'x-forwarded-proto': 'https' };

        const trusted = await get(trusting.host.url, '/api/x', undefined, https);
        expect(trusted.affinity?.attributes).to.include('secure');
        expect(trusted.affinity?.attributes).to.include.members(['httponly', 'samesite=lax', 'path=/']);
        const trustedHttp = await get(trusting.host.url, '/api/x', undefined, { 'x-forwarded-proto': 'http' });
        expect(trustedHttp.affinity?.attributes).to.not.include('secure');

        const forged = await get(untrusting.host.url, '/api/x', undefined, https);
        expect(forged.affinity, 'still gets a cookie').to.not.equal(undefined);
        expect(forged.affinity!.attributes, 'a client cannot ask for Secure without a trusted proxy').to.not.include('secure');
      });

      // ----- 2 ------------------------------------------------------------------------------
      it("adds the affinity cookie beside the backend's own Set-Cookie headers, never replacing them", async () => {
        const { host } = await make();
        const first = await get(host.url, '/api/set-cookies');
        expect(first.status).to.equal(200);
        expect(first.setCookies).to.have.length(3);
        expect(first.setCookies).to.include.members(APP_COOKIES);
        expect(first.affinity).to.not.equal(undefined);

        // a returning client with a fresh cookie: nothing to add, the backend's own still pass
        // the first cookie back: the session is assigned, one more affinity cookie beside the backend's
        const second = await get(host.url, '/api/set-cookies', cookie(first.affinity!.value));
        expect(second.backend).to.equal(first.backend);
        expect(second.setCookies).to.have.length(3);
        expect(second.setCookies).to.include.members(APP_COOKIES);
        const again = await get(host.url, '/api/set-cookies', cookie(second.affinity!.value));
        expect(again.backend).to.equal(first.backend);
        expect(again.setCookies).to.deep.equal(APP_COOKIES);
      });

      // ----- 3 ------------------------------------------------------------------------------
      it('does not forward the affinity cookie to backends; other cookies arrive intact', async () => {
        const { host } = await make();
        const { affinity } = await get(host.url, '/api/x');
        const others = 'a=1; busy=x%20y; theme="dark mode"; tok=abc=def==';
        const reply = await get(host.url, '/api/x', `a=1; ${cookie(affinity!.value)}; busy=x%20y; theme="dark mode"; tok=abc=def==`);
        expect(reply.status).to.equal(200);
        expect(reply.seenCookie).to.equal(others);

        const only = await get(host.url, '/api/x', cookie(affinity!.value));
        expect(only.backend).to.equal(reply.backend);
        expect(only.seenCookie, 'nothing left: no Cookie header at all').to.equal(undefined);
      });

      it('forwards the affinity cookie when the pool says sticky: { forwardCookie: true }', async () => {
        const { host } = await make();
        const { affinity, backend } = await get(host.url, '/fwd/x');
        const header = `a=1; ${cookie(affinity!.value)}; b=2`;
        const reply = await get(host.url, '/fwd/x', header);
        expect(reply.backend, 'still pinned').to.equal(backend);
        expect(reply.seenCookie).to.equal(header);
      });

      // ----- 4 ------------------------------------------------------------------------------
      it('keeps a client with the cookie on one server (20 in a row) while clients without it rotate', async () => {
        const { host } = await make();
        const first = await establish(host.url, '/api/x');
        const pinned = first.backend;
        const rotating: string[] = [];
        for (let i = 0; i < 20; i++) {
          const reply = await get(host.url, `/api/x?i=${i}`, cookie(first.affinity!.value));
          expect(reply.status).to.equal(200);
          expect(reply.backend, `request ${i}`).to.equal(pinned);
          expect(reply.affinity, 'a fresh cookie is not re-sent').to.equal(undefined);
          rotating.push((await get(host.url, `/api/x?anon=${i}`)).backend);
        }
        expect(new Set(rotating), 'cookie-less clients see every server').to.have.lengthOf(3);
        expect(rotating.slice(0, 3), 'round robin: three in a row are three servers').to.have.members(ids);
      });

      // ----- 5 ------------------------------------------------------------------------------
      it('re-pins when the pinned server is disabled: a new cookie, the same session, counted as repinned on the server it left', async () => {
        const { host, balancer } = await make();
        const first = await establish(host.url, '/api/x');
        const from = first.backend;
        const session = sessionOf(first.affinity!.value);
        balancer.pool('api').disable(from);

        const moved = await get(host.url, '/api/x', cookie(first.affinity!.value));
        expect(moved.status).to.equal(200);
        expect(moved.backend).to.not.equal(from);
        expect(ids).to.include(moved.backend);
        expect(moved.affinity, 'a new cookie pins the new server').to.not.equal(undefined);
        expect(moved.affinity!.value).to.not.equal(first.affinity!.value);
        expect(sessionOf(moved.affinity!.value), 'the session keeps its id').to.equal(session);
        for (let i = 0; i < 10; i++) {
          const reply = await get(host.url, '/api/x', cookie(moved.affinity!.value));
          expect(reply.backend).to.equal(moved.backend);
          expect(reply.affinity).to.equal(undefined);
        }
        expect(serverOf(balancer, from)!.sessions).to.deep.equal({ pinned: 0, repinned: 1 });
        expect(serverOf(balancer, moved.backend)!.sessions).to.deep.equal({ pinned: 1, repinned: 0 });

        // enabled again, the session stays where it moved (the store says so), even with the old cookie
        balancer.pool('api').enable(from);
        expect((await get(host.url, '/api/x', cookie(moved.affinity!.value))).backend).to.equal(moved.backend);
        expect((await get(host.url, '/api/x', cookie(first.affinity!.value))).backend).to.equal(moved.backend);
      });

      it('keeps pinned requests on a server set to weight 0, which takes no new clients', async () => {
        const { host, balancer } = await make();
        const first = await establish(host.url, '/api/x');
        const pinned = first.backend;
        balancer.pool('api').setWeight(pinned, 0);
        for (let i = 0; i < 20; i++) {
          const reply = await get(host.url, '/api/x', cookie(first.affinity!.value));
          expect(reply.backend, `pinned request ${i}`).to.equal(pinned);
          expect(reply.affinity).to.equal(undefined);
          expect((await get(host.url, '/api/x')).backend, `new client ${i}`).to.not.equal(pinned);
        }
        expect(serverOf(balancer, pinned)!.sessions).to.deep.equal({ pinned: 1, repinned: 0 });
      });

      it('re-pins when the pinned server is removed from the pool', async () => {
        const { host, balancer } = await make();
        const first = await establish(host.url, '/api/x');
        const from = first.backend;
        const result = await balancer.pool('api').removeServer(from);
        expect(result).to.include({ server: from, drained: true });
        expect(balancer.snapshot().pools.api!.servers.map((s) => s.id)).to.not.include(from);

        const moved = await get(host.url, '/api/x', cookie(first.affinity!.value));
        expect(moved.status).to.equal(200);
        expect(moved.backend).to.not.equal(from);
        expect(ids).to.include(moved.backend);
        expect(sessionOf(moved.affinity!.value)).to.equal(sessionOf(first.affinity!.value));
        for (let i = 0; i < 5; i++) expect((await get(host.url, '/api/x', cookie(moved.affinity!.value))).backend).to.equal(moved.backend);
        expect(serverOf(balancer, moved.backend)!.sessions.pinned).to.equal(1);
      });

      // ----- 6 ------------------------------------------------------------------------------
      it('keeps sending pinned requests to a draining server until drainTimeoutMs, then moves them', async () => {
        const { host, balancer } = await make();
        const first = await get(host.url, '/api/x');
        const from = first.backend;
        const started = Date.now();
        const result = await balancer.pool('api').drain(from);
        expect(result, 'nothing in flight: resolves at once').to.include({ server: from, drained: true, closed: 0 });
        const draining = serverOf(balancer, from)!;
        expect(draining.state).to.equal('draining');
        const deadline = draining.drainDeadline!;
        expect(deadline - started).to.be.within(DRAIN_MS - 5, DRAIN_MS + 50);

        let honoured = 0;
        while (Date.now() < deadline - 100) {
          const pinned = await get(host.url, '/api/x', cookie(first.affinity!.value));
          expect(pinned.backend, 'pinned, before the deadline').to.equal(from);
          expect((await get(host.url, '/api/x')).backend, 'no new client on a draining server').to.not.equal(from);
          honoured++;
        }
        expect(honoured).to.be.above(2);
        expect(serverOf(balancer, from)!.sessions).to.deep.equal({ pinned: 1, repinned: 0 });

        await sleep(Math.max(0, deadline - Date.now() + 20));
        const moved = await get(host.url, '/api/x', cookie(first.affinity!.value));
        expect(moved.status).to.equal(200);
        expect(moved.backend, 'past the deadline').to.not.equal(from);
        expect(moved.affinity).to.not.equal(undefined);
        expect(serverOf(balancer, from)).to.include({ state: 'draining' });
        expect(serverOf(balancer, from)!.sessions).to.deep.equal({ pinned: 0, repinned: 1 });
        expect((await get(host.url, '/api/x', cookie(moved.affinity!.value))).backend).to.equal(moved.backend);
      });

      // ----- 7 ------------------------------------------------------------------------------
      describe('bad cookies are ignored: the client is placed again with a 200, inside the pool', () => {
        /** Placed afresh: 200 from a server of the pool, a new valid cookie for a new session, which then holds. */
        async function expectRepicked(one: Made, reply: Reply, pool: string[], path = '/api/x', oldSession?: string): Promise<void> {
          expect(reply.status, reply.raw.body).to.equal(200);
          expect(pool).to.include(reply.backend);
          expect(reply.seenCookie ?? '', 'the bad cookie is not forwarded either').to.not.match(new RegExp(`(^|;\\s*)${COOKIE}=`));
          expect(reply.affinity, 'a new cookie').to.not.equal(undefined);
          expect(sessionOf(reply.affinity!.value), 'the new cookie verifies').to.be.a('string');
          const again = await get(one.host.url, path, cookie(reply.affinity!.value));
          expect(again.backend, 'the new cookie holds').to.equal(reply.backend);
          // a first cookie carries no session yet: it is assigned when the cookie comes back
          const session = sessionOf((again.affinity ?? reply.affinity)!.value);
          expect(session, 'an assigned session').to.not.equal(UNASSIGNED);
          if (oldSession !== undefined) expect(session, 'a new session').to.not.equal(oldSession);
          expect(one.errors, 'nothing logged as an error').to.deep.equal([]);
        }

        it('tampered signature (one character flipped)', async () => {
          const one = await make();
          const { affinity } = await establish(one.host.url, '/api/x');
          const value = affinity!.value;
          for (const at of [2, 20, value.length - 8]) {
            const tampered = value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1);
            expect(sessionOf(tampered)).to.equal(undefined);
            await expectRepicked(one, await get(one.host.url, '/api/x', cookie(tampered)), ids, '/api/x', sessionOf(value));
          }
        });

        it('signed with a secret this balancer does not know (another balancer\'s cookie)', async () => {
          const one = await make();
          const stranger = await make({ secret: OTHER_SECRET });
          const { affinity } = await establish(stranger.host.url, '/api/x');
          expect(sessionOf(affinity!.value, [OTHER_SECRET]), 'valid where it came from').to.be.a('string');
          await expectRepicked(one, await get(one.host.url, '/api/x', cookie(affinity!.value)), ids, '/api/x', sessionOf(affinity!.value, [OTHER_SECRET]));
        });

        it('expired (a validly signed value whose expiry has passed)', async () => {
          const one = await make();
          const target = ids[1]!;
          const craft = (expiresAt: number) => signValue({ session: randomBytes(12), expiresAt, tokens: [serverToken(SECRET, 'api', target)] }, SECRET);
          // control: the same crafting, unexpired, is honoured: it is the expiry alone that is refused
          const live = craft(Date.now() + TTL_MS);
          for (let i = 0; i < 3; i++) expect((await get(one.host.url, '/api/x', cookie(live))).backend).to.equal(target);

          const expired = craft(Date.now() - 2000);
          const replies = [];
          for (let i = 0; i < 3; i++) {
            const reply = await get(one.host.url, '/api/x', cookie(expired));
            await expectRepicked(one, reply, ids);
            replies.push(reply.backend);
          }
          expect(new Set(replies).size, 'placed by the algorithm, not by the expired token').to.be.above(1);
        });

        it('malformed base64 (sy=%%%)', async () => {
          const one = await make();
          await expectRepicked(one, await get(one.host.url, '/api/x', `${COOKIE}=%%%`), ids);
          await expectRepicked(one, await get(one.host.url, '/api/x', `${COOKIE}=`), ids);
          await expectRepicked(one, await get(one.host.url, '/api/x', `${COOKIE}=AAAA`), ids);
        });

        it('a huge value (10 KB)', async () => {
          const one = await make();
          const { affinity } = await get(one.host.url, '/api/x');
          await expectRepicked(one, await get(one.host.url, '/api/x', cookie(affinity!.value.repeat(200).slice(0, 10240))), ids);
          await expectRepicked(one, await get(one.host.url, '/api/x', cookie('A'.repeat(10240))), ids);
        });

        it('the cookie name repeated (sy=a; sy=<valid>): the first wins, and it is bad', async () => {
          const one = await make();
          const { affinity } = await establish(one.host.url, '/api/x');
          const reply = await get(one.host.url, '/api/x', `${COOKIE}=a; ${cookie(affinity!.value)}`);
          await expectRepicked(one, reply, ids, '/api/x', sessionOf(affinity!.value));
        });

        it('issued by another sticky pool: placed in this pool, never routed outside it; the other pool keeps its pin', async () => {
          const one = await make();
          const fromApi = await establish(one.host.url, '/api/x');
          for (let i = 0; i < 4; i++) {
            const reply = await get(one.host.url, '/other/x', cookie(fromApi.affinity!.value));
            expect(reply.status).to.equal(200);
            expect(otherIds, 'a server of pool "other"').to.include(reply.backend);
          }
          const placed = await get(one.host.url, '/other/x', cookie(fromApi.affinity!.value));
          await expectRepicked(one, placed, otherIds, '/other/x');
          // one cookie carries a pin per pool: the new one still holds the api pin
          expect(sessionOf(placed.affinity!.value), 'one session for both pools').to.equal(sessionOf(fromApi.affinity!.value));
          for (let i = 0; i < 3; i++) expect((await get(one.host.url, '/api/x', cookie(placed.affinity!.value))).backend).to.equal(fromApi.backend);
        });
      });

      // ----- 8 ------------------------------------------------------------------------------
      it('honours a cookie signed with a previous secret during rotation, and re-issues it under the new one', async () => {
        const before = await make({ secret: SECRET });
        const rotated = await make({ secret: NEW_SECRET, previousSecrets: [SECRET] });
        const dropped = await make({ secret: NEW_SECRET });

        const { affinity, backend } = await establish(before.host.url, '/api/x');
        const oldValue = affinity!.value;
        const session = sessionOf(oldValue, [SECRET]);

        const first = await get(rotated.host.url, '/api/x', cookie(oldValue));
        expect(first.status).to.equal(200);
        expect(first.backend, 'honoured').to.equal(backend);
        expect(first.affinity, 're-issued').to.not.equal(undefined);
        const newValue = first.affinity!.value;
        expect(verifyValue(newValue, [NEW_SECRET], Date.now())?.keyIndex, 'signed with the new secret').to.equal(0);
        expect(sessionOf(newValue, [SECRET]), 'not with the old one').to.equal(undefined);
        expect(sessionOf(newValue, [NEW_SECRET]), 'same session').to.equal(session);
        // round robin would rotate: five in a row on one server means the old cookie is honoured
        for (let i = 0; i < 5; i++) expect((await get(rotated.host.url, '/api/x', cookie(oldValue))).backend).to.equal(backend);
        const settled = await get(rotated.host.url, '/api/x', cookie(newValue));
        expect(settled.backend).to.equal(backend);
        expect(settled.affinity, 'the re-signed cookie is current: nothing more to send').to.equal(undefined);

        // once the old secret is dropped, old cookies are ignored; re-signed ones still hold
        const refused = await get(dropped.host.url, '/api/x', cookie(oldValue));
        expect(refused.status).to.equal(200);
        expect(sessionOf(refused.affinity!.value, [NEW_SECRET])).to.not.equal(session);
        for (let i = 0; i < 3; i++) expect((await get(dropped.host.url, '/api/x', cookie(newValue))).backend).to.equal(backend);
      });

      // ----- 9 ------------------------------------------------------------------------------
      it('shows per-server sessions.pinned in snapshot(), exact with the memory store', async () => {
        const { host, balancer } = await make();
        const clients: Reply[] = [];
        for (let i = 0; i < 7; i++) clients.push(await get(host.url, '/api/x'));
        const expected = new Map(ids.map((id) => [id, clients.filter((c) => c.backend === id).length]));
        const pinnedNow = () => new Map(balancer.snapshot().pools.api!.servers.map((s) => [s.id, s.sessions.pinned]));
        expect(pinnedNow()).to.deep.equal(expected);
        expect([...expected.values()].reduce((a, b) => a + b)).to.equal(7);

        // returning clients are not counted twice
        for (const client of clients) await get(host.url, '/api/x', cookie(client.affinity!.value));
        expect(pinnedNow()).to.deep.equal(expected);

        // a disabled server's sessions move to the others
        const [gone, stay1, stay2] = ids as [string, string, string];
        balancer.pool('api').disable(gone);
        for (const client of clients) await get(host.url, '/api/x', cookie(client.affinity!.value));
        const after = pinnedNow();
        expect(after.get(gone)).to.equal(0);
        expect(after.get(stay1)! + after.get(stay2)!).to.equal(7);
        expect(serverOf(balancer, gone)!.sessions.repinned).to.equal(expected.get(gone));
      });

      // ----- 10 -----------------------------------------------------------------------------
      it('sends a pinned client\'s WebSocket upgrade to its pinned server', async () => {
        const { host } = await make();
        const ws = host.url.replace('http', 'ws');
        const { affinity, backend } = await get(host.url, '/api/x');
        for (let i = 0; i < 6; i++) {
          const socket = await openSocket(`${ws}/api/live`, cookie(affinity!.value));
          sockets.push(socket);
          expect((await ask(socket, 'who')).backend, `upgrade ${i}`).to.equal(backend);
        }
        // without the cookie, upgrades are placed by the algorithm (round robin: three servers)
        const anonymous = [];
        for (let i = 0; i < 3; i++) {
          const socket = await openSocket(`${ws}/api/live`);
          sockets.push(socket);
          anonymous.push((await ask(socket, 'who')).backend);
        }
        expect(anonymous).to.have.members(ids);
        for (const socket of sockets.splice(0)) {
          socket.close();
          await once(socket, 'close');
        }
      });

      it("pins a new client on its WebSocket handshake: the 101 answer carries the cookie, beside the server's own", async () => {
        const { host } = await make();
        const ws = `${host.url.replace('http', 'ws')}/api/live`;
        const first = await openSocketWithHandshake(ws);
        sockets.push(first.socket);
        const line = first.setCookies.find((entry) => entry.startsWith(`${COOKIE}=`));
        expect(line, 'an affinity Set-Cookie on the 101').to.be.a('string');
        expect(first.setCookies, "the server's own cookie too").to.include('ws_app=1; Path=/');
        expect(line!.toLowerCase()).to.include('httponly');
        const value = line!.split(';')[0]!.slice(COOKIE.length + 1);
        expect(sessionOf(value)).to.be.a('string');
        const pinned = (await ask(first.socket, 'who')).backend;
        for (let i = 0; i < 4; i++) {
          const again = await openSocket(ws, cookie(value));
          sockets.push(again);
          expect((await ask(again, 'who')).backend, `upgrade ${i}`).to.equal(pinned);
        }
        // plain requests with the cookie follow it too
        expect((await get(host.url, '/api/x', cookie(value))).backend).to.equal(pinned);
      });

      it('does not forward the affinity cookie on a WebSocket upgrade (other cookies pass)', async () => {
        const { host } = await make();
        const { affinity } = await get(host.url, '/api/x');
        const socket = await openSocket(`${host.url.replace('http', 'ws')}/api/live`, `a=1; ${cookie(affinity!.value)}; b=2`);
        sockets.push(socket);
        expect((await ask(socket, 'who')).cookie).to.equal('a=1; b=2');
      });
    });
  }
});
