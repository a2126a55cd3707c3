import { expect } from 'chai';
import Redis from 'ioredis';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Affinity, type Pinning } from '../../../middleware/affinity/affinity.js';
import { RedisAffinityStore, type RedisAffinityStoreOptions } from '../../../middleware/affinity/redis-store.js';
import type { PickContext } from '../../../middleware/algorithms/algorithm.js';
import type { Logger } from '../../../middleware/logger.js';
import { recorder } from '../../support/recording-logger.js';
import { normalizeOptions } from '../../../middleware/options.js';
import type { Pool } from '../../../middleware/pool/pool.js';
import type { PoolControl } from '../../../middleware/index.js';
import { closeTestPools, pick, testPool } from '../../support/pools.js';
import type { Server } from '../../../middleware/pool/server.js';
import { requireTool } from '../../support/ci-guard.js';
import { RedisServer } from '../../support/redis-server.js';

const SECRET = 'a-secret-of-at-least-16-chars';
const TTL = 60_000;
const SERVERS = [1, 2, 3].map((i) => ({ id: `a${i}`, url: `http://127.0.0.1:${4000 + i}` }));



const context: PickContext = { clientAddress: '127.0.0.1', method: 'GET', path: '/', headers: {}, now: 0 };

function request(cookie: string | undefined): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (cookie !== undefined) req.headers.cookie = `sy=${cookie}`;
  return req;
}

describe('RedisAffinityStore (a real redis-server)', function () {
  let redis: RedisServer;
  const clients: Redis[] = [];
  const instances: Affinity[] = [];

  before(async function () {
    requireTool(this, 'redis-server');
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis?.kill();
  });

  afterEach(async () => {
    await closeTestPools();
    await Promise.all(instances.splice(0).map((affinity) => affinity.close()));
    for (const client of clients.splice(0)) client.disconnect();
    if (!redis.running) await redis.restart();
  });

  function client(): Redis {
    // reconnect fast, and fail queued commands fast: the store's own timeout is what is under test
    const made = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    made.on('error', () => {}); // connection errors during the outage test are expected
    clients.push(made);
    return made;
  }

  /** One balancer instance: its own pools, its own Redis connection, one shared Redis. */
  function instance(logger: Logger = recorder(), options: RedisAffinityStoreOptions = {}): { affinity: Affinity; pool: Pool; control: PoolControl; store: RedisAffinityStore } {
    const store = new RedisAffinityStore(client(), options);
    const config = normalizeOptions({ pools: { api: { servers: SERVERS, sticky: true } }, sticky: { secret: SECRET, ttlMs: TTL, store } });
    // real pools from a balancer; the Affinity under test is this one, over the shared Redis
    const { pool, control } = testPool({ servers: SERVERS, sticky: true }, { sticky: { secret: SECRET, ttlMs: TTL } });
    const affinity = new Affinity(config.sticky!, { trustProxy: false, logger, countIntervalMs: 0, probeIntervalMs: 200, pools: [pool] });
    instances.push(affinity);
    return { affinity, pool, control, store };
  }

  /** lookup → pick → pin, as the balancer does; returns the server and the client's cookie after. */
  async function visit(affinity: Affinity, pool: Pool, cookie: string | undefined): Promise<{ server: Server; cookie: string; pinning: Pinning | undefined }> {
    const req = request(cookie);
    const pinning = await affinity.lookup(req, pool);
    const server = pinning?.server ?? pick(pool, context)!;
    const setCookie = affinity.pin(req, pool, server, pinning);
    return { server, pinning, cookie: setCookie ? /^sy=([^;]*)/.exec(setCookie)![1]! : cookie! };
  }

  async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('stores pins under the prefix and refreshes their TTL on each use (GETEX PX)', async () => {
    const redisClient = client();
    const store = new RedisAffinityStore(redisClient, { prefix: 'test:aff:' });
    await store.set('api', 'session1', 'a2', 2000);
    const key = 'test:aff:s:api:session1';
    expect(await redisClient.get(key)).to.equal('a2');
    expect(await redisClient.pttl(key)).to.be.within(1, 2000);
    expect(await store.get('api', 'session1', 50_000)).to.equal('a2');
    expect(await redisClient.pttl(key)).to.be.greaterThan(40_000);
    expect(await store.get('api', 'unknown', 50_000)).to.equal(undefined);
    expect(await new RedisAffinityStore(redisClient).get('api', 'session1', 1000), 'another prefix, another namespace').to.equal(undefined);
  });

  it('fails a command that Redis does not answer within its timeout', async () => {
    const store = new RedisAffinityStore(client(), { commandTimeoutMs: 100 });
    const pauser = client();
    await pauser.call('CLIENT', 'PAUSE', '600', 'ALL');
    const started = Date.now();
    let error: unknown;
    try {
      await store.get('api', 'x', 1000);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(Error).with.property('message').that.matches(/within 100 ms/);
    expect(Date.now() - started).to.be.below(300);
    await new Promise((resolve) => setTimeout(resolve, 600)); // let the pause end before the next test
  });

  /** What the store says for this cookie's session, asked through `affinity` (a write from another connection may still be on its way). */
  async function storedFor(affinity: Affinity, pool: Pool, cookie: string, expected: string): Promise<Pinning> {
    let pinning: Pinning | undefined;
    await until(async () => (pinning = await affinity.lookup(request(cookie), pool))?.storedId === expected);
    return pinning!;
  }

  it('lets two instances sharing one Redis agree on a session, also after one of them re-pins', async () => {
    const one = instance();
    const two = instance();
    const first = await visit(one.affinity, one.pool, undefined);
    first.cookie = (await visit(one.affinity, one.pool, first.cookie)).cookie; // the session is drawn and stored once the first cookie comes back
    const onTwo = await storedFor(two.affinity, two.pool, first.cookie, first.server.id);
    expect(onTwo.server!.id).to.equal(first.server.id);

    // instance two sees the server down and re-pins; instance one, where it is fine, follows
    await two.control.disable(first.server.id);
    const moved = await visit(two.affinity, two.pool, first.cookie);
    expect(moved.server.id).to.not.equal(first.server.id);
    const stale = await storedFor(one.affinity, one.pool, first.cookie, moved.server.id);
    expect(stale.server!.id, 'the store wins over the stale cookie').to.equal(moved.server.id);
    expect(stale.server!.id).to.not.equal(first.server.id);
  });

  it('still honours a session with a resolver recreated after close', async () => {
    const one = instance();
    const first = await visit(one.affinity, one.pool, undefined);
    first.cookie = (await visit(one.affinity, one.pool, first.cookie)).cookie; // the session is drawn and stored once the first cookie comes back
    const other = instance();
    await other.control.disable(first.server.id);
    await storedFor(other.affinity, other.pool, first.cookie, first.server.id);
    const moved = await visit(other.affinity, other.pool, first.cookie); // the store now says: moved
    // close() lets the re-pin's write land
    await Promise.all(instances.splice(0).map((affinity) => affinity.close()));

    const again = instance();
    const pinning = (await again.affinity.lookup(request(first.cookie), again.pool))!;
    expect(pinning.storedId, 'answered by the store, not the (stale) cookie').to.equal(moved.server.id);
    expect(pinning.server!.id).to.equal(moved.server.id);
  });

  it('routes by cookie through a Redis outage, warns once, and resumes after restart', async function () {
    this.timeout(20_000);
    const logger = recorder();
    const one = instance(logger);
    const sessions = await Promise.all(Array.from({ length: 6 }, () => visit(one.affinity, one.pool, undefined)));
    // the first cookies come back: each session is drawn and stored
    for (const session of sessions) session.cookie = (await visit(one.affinity, one.pool, session.cookie)).cookie;
    for (const session of sessions) expect((await one.affinity.lookup(request(session.cookie), one.pool))!.storedId).to.equal(session.server.id);

    await redis.stop();
    const slowest = { ms: 0 };
    for (let round = 0; round < 15; round++) {
      for (const session of sessions) {
        const started = Date.now();
        const again = await visit(one.affinity, one.pool, session.cookie);
        slowest.ms = Math.max(slowest.ms, Date.now() - started);
        expect(again.server).to.equal(session.server);
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(slowest.ms, 'no lookup waits on the dead Redis past its command timeout').to.be.below(250);
    expect(one.affinity.storeDown).to.equal(true);
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0]).to.match(/affinity store unavailable/);

    // a re-pin during the outage: written once Redis is back
    await one.control.disable(sessions[0]!.server.id);
    const moved = await visit(one.affinity, one.pool, sessions[0]!.cookie);
    expect(moved.server.id).to.not.equal(sessions[0]!.server.id);
    await one.control.enable(sessions[0]!.server.id);

    await redis.restart(); // empty: no persistence
    await until(async () => {
      await visit(one.affinity, one.pool, sessions[1]!.cookie);
      return !one.affinity.storeDown;
    });
    expect(logger.infos).to.deep.equal(['affinity store answering again']);
    expect(logger.warnings).to.have.length(1);

    // another instance now finds the re-pin made during the outage in the store, not the old server
    const two = instance();
    await until(async () => (await two.affinity.lookup(request(sessions[0]!.cookie), two.pool))?.storedId !== undefined);
    const after = (await two.affinity.lookup(request(sessions[0]!.cookie), two.pool))!;
    expect(after.storedId).to.equal(moved.server.id);
    expect(after.server!.id).to.equal(moved.server.id);
    // and the sessions Redis forgot are written back as they come
    await visit(one.affinity, one.pool, sessions[2]!.cookie);
    await until(async () => (await two.affinity.lookup(request(sessions[2]!.cookie), two.pool))?.storedId === sessions[2]!.server.id);
  });

  it('estimates pinned sessions per server across instances with HyperLogLogs', async () => {
    await client().flushdb(); // counts from earlier tests would share the current window
    const one = instance();
    const two = instance();
    const cookies: string[] = [];
    for (let i = 0; i < 6; i++) cookies.push((await visit(one.affinity, one.pool, undefined)).cookie); // a1 a2 a3 a1 a2 a3
    for (let i = 0; i < 3; i++) cookies.push((await visit(two.affinity, two.pool, undefined)).cookie); // a1 a2 a3
    // a first cookie has no session yet: nothing to count until it comes back
    await one.affinity.refreshPinned();
    expect(one.pool.servers.map((server) => server.pinned)).to.deep.equal([0, 0, 0]);
    // sessions are drawn, stored (and counted) once their cookie comes back
    for (const [i, cookie] of cookies.entries()) cookies[i] = (await visit(i < 6 ? one.affinity : two.affinity, i < 6 ? one.pool : two.pool, cookie)).cookie;
    for (const cookie of cookies.slice(0, 3)) await visit(two.affinity, two.pool, cookie); // seen twice: counted once
    await one.affinity.refreshPinned();
    await two.affinity.refreshPinned();
    await one.affinity.refreshPinned();
    expect(one.pool.servers.map((server) => server.pinned)).to.deep.equal([3, 3, 3]);
    expect(two.pool.servers.map((server) => server.pinned)).to.deep.equal([3, 3, 3]);
  });
});
