import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { ServerRecord } from '../../middleware/index.js';
import { echo, startBackends, type Backend, type Handler } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { FleetInstance, type CallError, type FleetOptions } from '../support/fleet.js';
import { RedisServer } from '../support/redis-server.js';
import { sleep, waitFor } from '../support/wait.js';

type Records = ServerRecord[];

/** `/slow/<ms>` answers after that long; anything else at once. */
const slowEcho: Handler = (req, res, backend) => {
  const ms = /^\/slow\/(\d+)/.exec(req.url ?? '')?.[1];
  if (ms) setTimeout(() => echo(req, res, backend), Number(ms));
  else echo(req, res, backend);
};

function weightOf(records: Records, id: string): number | undefined {
  return records.find((record) => record.id === id)?.weight;
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    http.get(url, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', () => resolve(0));
  });
}

describe('shared control state over Redis, instances in separate processes', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let admin: Redis;
  let backends: Backend[];
  let fleet: FleetInstance[] = [];
  let prefix = 0;

  before(async function () {
    requireTool(this, 'redis-server');
    redis = await RedisServer.start();
    admin = new Redis(redis.url, { retryStrategy: () => 50 });
    admin.on('error', () => {});
    backends = await startBackends(2, 'a', slowEcho);
  });

  after(async () => {
    admin?.disconnect();
    await redis?.kill();
    await Promise.all((backends ?? []).map((backend) => backend.close()));
  });

  afterEach(async () => {
    await Promise.all(fleet.map((instance) => instance.close()));
    fleet = [];
  });

  function options(instanceId: string, extra: Partial<FleetOptions> = {}): FleetOptions {
    return { instanceId, redis: { url: redis.url }, prefix: `t${prefix}:`, servers: backends.map((backend) => ({ id: backend.id, url: backend.url })), ...extra };
  }

  async function startFleet(count: number, extra: Partial<FleetOptions> = {}): Promise<FleetInstance[]> {
    prefix++;
    fleet = await Promise.all(Array.from({ length: count }, (_, i) => FleetInstance.start(options(`i${i + 1}`, extra))));
    await waitFor('every instance joined', async () => (await Promise.all(fleet.map((instance) => instance.call<boolean>('available')))).every(Boolean), 5000, 20);
    return fleet;
  }

  async function converged(what: string, check: (records: Records) => boolean, timeoutMs = 3000): Promise<void> {
    await waitFor(what, async () => (await Promise.all(fleet.map((instance) => instance.call<Records>('records')))).every(check), timeoutMs, 10);
  }

  it('applies a change made on one instance on every other, in well under a second', async () => {
    const [a] = await startFleet(3);
    const started = Date.now();
    await a!.call('setWeight', 'a1', 7);
    await converged('weight 7 everywhere', (records) => weightOf(records, 'a1') === 7, 1000);
    expect(Date.now() - started).to.be.below(1000);
    await a!.call('disable', 'a2');
    await converged('a2 disabled everywhere', (records) => records.find((record) => record.id === 'a2')?.admin === 'disabled', 1000);
    // the applied state serves requests: the disabled server gets none, on any instance
    const before = backends[1]!.hits;
    for (const instance of fleet) for (let i = 0; i < 5; i++) expect(await get(`${instance.url}/x`)).to.equal(200);
    expect(backends[1]!.hits).to.equal(before);
    const instances = await fleet[2]!.call<Array<{ id: string; revision: number; lag: number }>>('instances');
    await waitFor('all three heartbeats', async () => (await fleet[2]!.call<unknown[]>('instances')).length === 3, 3000, 20);
    expect(instances.map((instance) => instance.id)).to.include('i3');
  });

  it('lets exactly one of two concurrent changes of a record win, and loses neither silently', async () => {
    const [a, b] = await startFleet(2);
    let conflicts = 0;
    for (let round = 0; round < 20 && conflicts < 3; round++) {
      const [ra, rb] = await Promise.all([a!.attempt('setWeight', 'a1', 10 + round), b!.attempt('setWeight', 'a1', 100 + round)]);
      const failed = [ra, rb].filter((reply) => !reply.ok);
      expect(failed.length, 'at most one loses').to.be.at.most(1);
      if (failed.length === 1) {
        conflicts++;
        const error = (failed[0] as { error: CallError }).error;
        expect(error.code).to.equal('CONFLICT');
        const winner = ra.ok ? 10 + round : 100 + round;
        expect((error.current as ServerRecord).weight, 'the conflict carries the winning record').to.equal(winner);
        await converged(`round ${round} winner everywhere`, (records) => weightOf(records, 'a1') === winner);
      } else {
        // both committed one after the other: the one with the higher revision stands everywhere
        await waitFor('same record on both', async () => JSON.stringify(await a!.call('records')) === JSON.stringify(await b!.call('records')), 2000, 10);
      }
    }
    expect(conflicts, 'concurrent writers met at least once').to.be.greaterThan(0);
    const stored = JSON.parse((await admin.hget(`{t${prefix}:}pool:api`, 'a1'))!) as ServerRecord;
    await converged('store and instances agree', (records) => weightOf(records, 'a1') === stored.weight);
  });

  it('brings a killed and restarted instance up to the state changed while it was away', async () => {
    const [a, b] = await startFleet(2);
    await b!.kill();
    await a!.call('setWeight', 'a2', 9);
    await a!.call('disable', 'a1');
    await b!.restart();
    await waitFor('b rejoined', () => b!.call<boolean>('available'), 3000, 10);
    const records = await b!.call<Records>('records');
    expect(weightOf(records, 'a2')).to.equal(9);
    expect(records.find((record) => record.id === 'a1')!.admin).to.equal('disabled');
  });

  it('fails no request while Redis is killed and restarted empty, fails commits fast meanwhile, and converges after', async () => {
    const [a, b] = await startFleet(2);
    await a!.call('setWeight', 'a1', 4);
    await converged('weight 4', (records) => weightOf(records, 'a1') === 4);
    let running = true;
    let failures = 0;
    let served = 0;
    const load = (async () => {
      while (running) {
        const statuses = await Promise.all(fleet.map((instance) => get(`${instance.url}/x`)));
        for (const status of statuses) status === 200 ? served++ : failures++;
      }
    })();
    await redis.kill();
    await waitFor('a sees the store away', async () => !(await a!.call<boolean>('available')), 3000, 10);
    const started = Date.now();
    const reply = await a!.attempt('setWeight', 'a1', 5);
    expect(reply.ok).to.equal(false);
    expect((reply as { error: CallError }).error.code).to.equal('STORE_UNAVAILABLE');
    expect(Date.now() - started, 'fails fast, no offline queue').to.be.below(200);
    await sleep(300);
    await redis.restart();
    await waitFor('both rejoined', async () => (await a!.call<boolean>('available')) && (await b!.call<boolean>('available')), 5000, 20);
    // the emptied Redis was reseeded from the instances' applied state
    const stored = JSON.parse((await admin.hget(`{t${prefix}:}pool:api`, 'a1'))!) as ServerRecord;
    expect(stored.weight).to.equal(4);
    await b!.call('setWeight', 'a1', 6);
    await converged('weight 6 after the outage', (records) => weightOf(records, 'a1') === 6);
    running = false;
    await load;
    expect(failures).to.equal(0);
    expect(served).to.be.greaterThan(10);
  });

  it('survives FLUSHALL by writing the state back and resyncing', async () => {
    const [a, b] = await startFleet(2);
    await a!.call('setWeight', 'a2', 3);
    await converged('weight 3', (records) => weightOf(records, 'a2') === 3);
    await admin.flushall();
    await waitFor('state written back', async () => (await admin.hget(`{t${prefix}:}pool:api`, 'a2')) !== null, 3000, 20);
    await waitFor('b joined again', () => b!.call<boolean>('available'), 3000, 10);
    await waitFor('a joined again', () => a!.call<boolean>('available'), 3000, 10);
    expect((JSON.parse((await admin.hget(`{t${prefix}:}pool:api`, 'a2'))!) as ServerRecord).weight).to.equal(3);
    await b!.call('setWeight', 'a2', 8);
    await converged('weight 8 after the flush', (records) => weightOf(records, 'a2') === 8);
  });

  it('resyncs an instance whose position in the change log was trimmed away', async () => {
    const [a, , c] = await startFleet(3);
    c!.signal('SIGSTOP');
    for (let i = 1; i <= 30; i++) await a!.call('setWeight', 'a1', i);
    await a!.call('disable', 'a2');
    await admin.xtrim(`{t${prefix}:}log`, 'MAXLEN', 1);
    await a!.call('setWeight', 'a1', 77);
    c!.signal('SIGCONT');
    await converged('c resynced', (records) => weightOf(records, 'a1') === 77 && records.find((record) => record.id === 'a2')?.admin === 'disabled');
  });

  it('restores the state when the store\'s revision goes backwards (writes lost in a failover), and keeps revisions unique', async () => {
    const [a, b] = await startFleet(2);
    for (let i = 1; i <= 5; i++) await a!.call('setWeight', 'a1', i + 10);
    await converged('weight 15', (records) => weightOf(records, 'a1') === 15);
    // play a failover to a replica that missed the last writes: older record, older revision
    const key = `{t${prefix}:}pool:api`;
    const record = JSON.parse((await admin.hget(key, 'a1'))!) as ServerRecord;
    await admin.hset(key, 'a1', JSON.stringify({ ...record, weight: 12, rev: record.rev - 3 }));
    await admin.set(`{t${prefix}:}rev`, String(record.rev - 3));
    await waitFor('revision restored', async () => Number(await admin.get(`{t${prefix}:}rev`)) >= record.rev, 3000, 20);
    expect((JSON.parse((await admin.hget(key, 'a1'))!) as ServerRecord).weight, 'the newer record written back').to.equal(15);
    await waitFor('both joined', async () => (await a!.call<boolean>('available')) && (await b!.call<boolean>('available')), 3000, 20);
    await b!.call('setWeight', 'a1', 33);
    await converged('weight 33', (records) => weightOf(records, 'a1') === 33);
    const revs = (await a!.call<Records>('records')).map((r) => r.rev);
    expect(Math.max(...revs)).to.be.above(record.rev);
  });

  it('lists the live instances with their revision and lag, and forgets one that died', async () => {
    const [a, b] = await startFleet(2);
    await a!.call('setWeight', 'a1', 2);
    await converged('weight 2', (records) => weightOf(records, 'a1') === 2);
    type Info = { id: string; revision: number; lag: number; lastSeen: number };
    await waitFor('both at lag 0', async () => {
      const list = await a!.call<Info[]>('instances');
      return list.length === 2 && list.every((instance) => instance.lag === 0);
    }, 3000, 20);
    const list = await a!.call<Info[]>('instances');
    expect(list.map((instance) => instance.id)).to.deep.equal(['i1', 'i2']);
    expect(list[0]!.revision).to.equal(list[1]!.revision);
    expect(Date.now() - list[1]!.lastSeen).to.be.below(1000);
    await b!.kill();
    await waitFor('the dead one forgotten', async () => (await a!.call<Info[]>('instances')).length === 1, 3000, 20);
  });

  it('resolves a drain when every live instance is idle on the server, waiting for requests in flight elsewhere', async () => {
    const [a, b] = await startFleet(2);
    await waitFor('both heartbeats seen', async () => (await a!.call<unknown[]>('instances')).length === 2, 3000, 20);
    const idle = await a!.call<{ drained: boolean; instances: { reported: number; expected: number } }>('drain', 'a1', 3000);
    expect(idle.drained).to.equal(true);
    expect(idle.instances).to.deep.equal({ reported: 2, expected: 2 });
    await a!.call('enable', 'a1');
    await converged('a1 active again', (records) => records.find((record) => record.id === 'a1')?.admin === 'active');

    const hits = backends[0]!.hits;
    const slow = Array.from({ length: 4 }, () => get(`${b!.url}/slow/1200`));
    await waitFor('a slow request on a1 through b', () => backends[0]!.hits > hits, 2000, 5);
    const result = await a!.call<{ drained: boolean; closed: number; waitedMs: number; instances: { reported: number } }>('drain', 'a1', 5000);
    expect(result.drained).to.equal(true);
    expect(result.closed).to.equal(0);
    expect(result.instances.reported).to.equal(2);
    expect(result.waitedMs, 'waited for b\'s request').to.be.above(700);
    expect(await Promise.all(slow)).to.deep.equal([200, 200, 200, 200]);
  });

  it('closes what is still in flight anywhere at the deadline, and says which instance closed it', async () => {
    const [a, b] = await startFleet(2);
    await waitFor('both heartbeats seen', async () => (await a!.call<unknown[]>('instances')).length === 2, 3000, 20);
    const hits = backends[0]!.hits;
    const slow = Array.from({ length: 4 }, () => get(`${b!.url}/slow/4000`));
    await waitFor('a slow request on a1 through b', () => backends[0]!.hits > hits, 2000, 5);
    const result = await a!.call<{ drained: boolean; closed: number; closedBy: Record<string, number>; waitedMs: number }>('drain', 'a1', 300);
    expect(result.drained).to.equal(false);
    expect(result.closedBy.i2, 'closed on b').to.be.at.least(1);
    expect(result.closedBy.i1).to.equal(undefined);
    expect(result.waitedMs).to.be.below(2500);
    await Promise.all(slow);
  });

  it('starts without Redis from its snapshot file, serves at once, and writes that state back when Redis comes', async () => {
    const snapshotFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sy-snap-')), 'state.json');
    const [a] = await startFleet(1, { snapshotFile });
    await a!.call('setWeight', 'a1', 9);
    await a!.call('disable', 'a2');
    await sleep(400); // the file is written shortly after a change
    await a!.close();
    await redis.kill();
    const started = Date.now();
    const again = await FleetInstance.start(options('i1', { snapshotFile }));
    fleet = [again];
    await waitFor('the snapshot file applied', async () => weightOf(await again.call<Records>('records'), 'a1') === 9, 1000, 10);
    expect(Date.now() - started, 'does not wait for Redis').to.be.below(2000);
    const records = await again.call<Records>('records');
    expect(records.find((record) => record.id === 'a2')!.admin).to.equal('disabled');
    expect(await again.call<boolean>('available')).to.equal(false);
    const before = backends[1]!.hits;
    for (let i = 0; i < 4; i++) expect(await get(`${again.url}/x`)).to.equal(200);
    expect(backends[1]!.hits, 'the disabled server stays out').to.equal(before);
    await redis.restart();
    await waitFor('joined', () => again.call<boolean>('available'), 5000, 20);
    expect((JSON.parse((await admin.hget(`{t${prefix}:}pool:api`, 'a1'))!) as ServerRecord).weight).to.equal(9);
  });
});
