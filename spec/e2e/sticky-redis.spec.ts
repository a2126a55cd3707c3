import { expect } from 'chai';
import Redis from 'ioredis';
import http from 'node:http';
import { verifyValue } from '../../middleware/affinity/cookie-value.js';
import { createBalancer, RedisAffinityStore, type Balancer, type Logger } from '../../middleware/index.js';
import { startBackends, type Backend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { send, startHost, type Flavour, type Host } from '../support/hosts.js';
import { sleep } from '../support/load.js';
import { RedisServer } from '../support/redis-server.js';

const SECRET = 'sticky-redis-e2e-secret-0123456';
const COOKIE = 'sy';
const TTL_MS = 60_000;
const PREFIX = 'switchyard:affinity:';

interface Reply {
  status: number;
  backend: string;
  /** The affinity cookie value the balancer set, if it set one. */
  setValue: string | undefined;
}

async function get(base: string, path: string, value?: string, agent?: http.Agent): Promise<Reply> {
  const raw = await send(base, path, { headers: value === undefined ? {} : { cookie: `${COOKIE}=${value}` }, ...(agent && { agent }) });
  const line = (raw.headers['set-cookie'] ?? []).find((entry) => entry.startsWith(`${COOKIE}=`));
  return {
    status: raw.status,
    backend: raw.status === 200 ? raw.json<{ backend: string }>().backend : '',
    setValue: line?.split(';', 1)[0]!.slice(COOKIE.length + 1),
  };
}

/** The session id a cookie carries, as the store keys it. */
function sessionOf(value: string): string {
  const verified = verifyValue(value, [SECRET], Date.now());
  expect(verified, 'a cookie signed with the secret').to.not.equal(undefined);
  return verified!.value.session.toString('base64url');
}

const sessionKey = (pool: string, value: string): string => `${PREFIX}s:${pool}:${sessionOf(value)}`;

/** Poll until `check` passes (it throws until then), or fail with its last error at the deadline. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

type RecordingLogger = Logger & { info(message: string): void; warnings: string[]; errors: string[]; infos: string[] };

function recorder(): RecordingLogger {
  const warnings: string[] = [];
  const errors: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    errors,
    infos,
    warn: (message: string) => warnings.push(message),
    error: (message: string) => errors.push(message),
    info: (message: string) => infos.push(message),
  };
}

describe('sticky sessions shared through Redis, end to end', function () {
  let redis: RedisServer;
  let backends: Backend[];
  let ids: string[];
  let observer: Redis;

  interface Instance {
    balancer: Balancer;
    host: Host;
    client: Redis;
    logger: RecordingLogger;
    closed: boolean;
  }
  const instances: Instance[] = [];

  function redisClient(): Redis {
    const client = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => {}); // ioredis reports each reconnect attempt
    return client;
  }

  async function instance(flavour: Flavour): Promise<Instance> {
    const client = redisClient();
    const logger = recorder();
    const balancer = createBalancer({
      pools: { api: { servers: backends.map((b) => ({ id: b.id, url: b.url })), sticky: true, drainTimeoutMs: 1000 } },
      routes: [{ path: '/api', pool: 'api' }],
      sticky: { secret: SECRET, cookieName: COOKIE, ttlMs: TTL_MS, store: new RedisAffinityStore(client) },
      logger,
    });
    const host = await startHost(flavour, balancer);
    const made = { balancer, host, client, logger, closed: false };
    instances.push(made);
    return made;
  }

  async function shut(one: Instance): Promise<void> {
    if (one.closed) return;
    one.closed = true;
    await one.host.close();
    await one.balancer.close();
    one.client.disconnect(); // the client is ours: closed after the balancer
  }

  before(async function () {
    requireTool(this, 'redis-server');
    redis = await RedisServer.start();
    backends = await startBackends(3, 'redis-sticky-backend-');
    ids = backends.map((b) => b.id);
    observer = redisClient();
  });

  afterEach(async () => {
    for (const one of instances.splice(0)) await shut(one);
    if (redis && !redis.running) await redis.restart();
  });

  after(async () => {
    observer?.disconnect();
    await redis?.kill();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  // ----- 11 -------------------------------------------------------------------------------
  it('shares sessions between two instances, and the store is the truth when one of them re-pins', async () => {
    const a = await instance('express');
    const b = await instance('wrap');

    const first = await get(a.host.url, '/api/x');
    expect(first.status).to.equal(200);
    const pinned = first.backend;
    // a new client's first cookie names its server only: its session is drawn and stored once the
    // cookie comes back (cookie-less clients leave no keys), and the cookie is re-issued with it
    const keysBefore = await observer.keys(`${PREFIX}s:*`);
    const second = await get(a.host.url, '/api/x', first.setValue);
    expect(second.backend).to.equal(pinned);
    expect(second.setValue, 'the session is assigned').to.not.equal(undefined);
    const oldValue = second.setValue!;
    await eventually(async () => expect(await observer.get(sessionKey('api', oldValue))).to.equal(pinned));
    expect(keysBefore, 'nothing stored for the first cookie').to.not.include(sessionKey('api', oldValue)).and.not.include(sessionKey('api', first.setValue!));

    // B honours a session A pinned (round robin on B would rotate)
    for (let i = 0; i < 6; i++) {
      const reply = await get(b.host.url, '/api/x', oldValue);
      expect(reply.backend, `through B, request ${i}`).to.equal(pinned);
      expect(reply.setValue, 'nothing to re-issue').to.equal(undefined);
    }

    // A's server goes away on A only: A re-pins, and writes the move to the store
    a.balancer.pool('api').disable(pinned);
    const moved = await get(a.host.url, '/api/x', oldValue);
    expect(moved.status).to.equal(200);
    expect(moved.backend).to.not.equal(pinned);
    expect(sessionOf(moved.setValue!), 'same session').to.equal(sessionOf(oldValue));
    await eventually(async () => expect(await observer.get(sessionKey('api', oldValue))).to.equal(moved.backend));

    // B follows the store even for the old cookie, whose token still names a server B has active
    const followed = await get(b.host.url, '/api/x', oldValue);
    expect(followed.status).to.equal(200);
    expect(followed.backend, 'B follows the store').to.equal(moved.backend);
    expect(followed.setValue, 'and re-issues the cookie for the new server').to.not.equal(undefined);
    for (let i = 0; i < 4; i++) expect((await get(b.host.url, '/api/x', followed.setValue)).backend).to.equal(moved.backend);
    for (let i = 0; i < 4; i++) expect((await get(b.host.url, '/api/x', moved.setValue)).backend).to.equal(moved.backend);

    const repinned = (balancer: Balancer, id: string) => balancer.snapshot().pools.api!.servers.find((s) => s.id === id)!.sessions.repinned;
    expect(repinned(a.balancer, pinned), 'A counts the move').to.equal(1);
    expect(repinned(b.balancer, pinned), 'B made no move of its own').to.equal(0);
    expect([...a.logger.warnings, ...a.logger.errors, ...b.logger.warnings, ...b.logger.errors]).to.deep.equal([]);
  });

  // ----- 12 -------------------------------------------------------------------------------
  it('finds its sessions again after the instance is closed and created anew (new Redis client)', async () => {
    const a = await instance('express');
    const first = await get(a.host.url, '/api/x');
    const oldValue = (await get(a.host.url, '/api/x', first.setValue)).setValue!; // the session is assigned
    // the session moves (on this instance only), so that the store, not the cookie, knows where it is
    a.balancer.pool('api').disable(first.backend);
    const moved = await get(a.host.url, '/api/x', oldValue);
    expect(moved.backend).to.not.equal(first.backend);
    await eventually(async () => expect(await observer.get(sessionKey('api', oldValue))).to.equal(moved.backend));

    await shut(a);
    const again = await instance('express'); // every server active again, a fresh client, empty memory

    for (let i = 0; i < 5; i++) {
      const reply = await get(again.host.url, '/api/x', oldValue);
      expect(reply.status).to.equal(200);
      expect(reply.backend, `stale cookie, request ${i}: the store answers`).to.equal(moved.backend);
    }
    for (let i = 0; i < 5; i++) {
      const reply = await get(again.host.url, '/api/x', moved.setValue);
      expect(reply.backend).to.equal(moved.backend);
      expect(reply.setValue).to.equal(undefined);
    }
  });

  // ----- 13 -------------------------------------------------------------------------------
  it('is not an outage when Redis goes away: every request answers 200 on its pinned server, one warning, the store used again after', async function () {
    this.timeout(15000);
    const a = await instance('wrap');

    const sessions: Array<{ value: string; server: string }> = [];
    for (let i = 0; i < 4; i++) {
      const reply = await get(a.host.url, '/api/x');
      // the first cookie back: the session is drawn, stored and re-issued
      const assigned = await get(a.host.url, '/api/x', reply.setValue);
      sessions.push({ value: assigned.setValue!, server: reply.backend });
    }
    expect(new Set(sessions.map((s) => s.server)).size, 'sessions on several servers').to.be.above(1);
    for (const { value, server } of sessions) await eventually(async () => expect(await observer.get(sessionKey('api', value))).to.equal(server));

    // one keep-alive loop per session, each carrying its own cookie
    const agent = new http.Agent({ keepAlive: true, maxSockets: sessions.length });
    const results: Array<{ session: number; status: number; backend: string; at: number }> = [];
    let running = true;
    const loops = sessions.map(async ({ value }, session) => {
      while (running) {
        const reply = await get(a.host.url, `/api/load?s=${session}`, value, agent).catch(() => ({ status: 0, backend: '', setValue: undefined }));
        results.push({ session, status: reply.status, backend: reply.backend, at: Date.now() });
      }
    });

    try {
      await sleep(200);
      const stoppedAt = Date.now();
      await redis.stop();
      // a little over the one-a-second probe interval, so that at least one probe fails meanwhile
      await sleep(1300);
      const restartedAt = Date.now();
      await redis.restart();
      // the store answers again once a probe (one a second at most) gets through
      await eventually(async () => expect(a.logger.infos).to.have.length(1), 5000);
      const recoveredAt = Date.now();
      await sleep(200);
      running = false;
      await Promise.all(loops);

      expect(results.filter((r) => r.status !== 200), 'failed requests').to.deep.equal([]);
      for (const r of results) expect(r.backend, `session ${r.session} at ${r.at}`).to.equal(sessions[r.session]!.server);
      const during = results.filter((r) => r.at > stoppedAt && r.at < restartedAt);
      expect(during.length, 'requests while Redis was down').to.be.above(20);
      expect(results.filter((r) => r.at > recoveredAt).length, 'requests after it came back').to.be.above(5);

      expect(a.logger.warnings, 'one warning for the outage').to.have.length(1);
      expect(a.logger.warnings[0]).to.match(/affinity store unavailable/);
      expect(a.logger.infos[0]).to.match(/affinity store answering again/);
      expect(a.logger.errors).to.deep.equal([]);
    } finally {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    }

    // the restarted Redis is empty: the sessions' pins are written again, and a new one appears
    for (const { value, server } of sessions) await eventually(async () => expect(await observer.get(sessionKey('api', value))).to.equal(server));
    const fresh = await get(a.host.url, '/api/x');
    expect(fresh.status).to.equal(200);
    const assigned = (await get(a.host.url, '/api/x', fresh.setValue)).setValue!;
    await eventually(async () => expect(await observer.get(sessionKey('api', assigned))).to.equal(fresh.backend));
    expect(await observer.keys(`${PREFIX}s:*`)).to.include(sessionKey('api', assigned));
    expect(a.logger.warnings, 'still one warning').to.have.length(1);
  });
});
