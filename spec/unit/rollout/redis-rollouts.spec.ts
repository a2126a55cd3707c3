import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisControlStore } from '../../../middleware/control/redis-store.js';
import { emptyArm, type Second } from '../../../middleware/rollout/engine.js';
import { bucketOf } from '../../../middleware/rollout/histogram.js';
import { RedisRolloutFleet, RedisRolloutStates } from '../../../middleware/rollout/redis-rollouts.js';
import type { StoredRollout } from '../../../middleware/rollout/state-store.js';
import { requireTool } from '../../support/ci-guard.js';
import { RedisServer } from '../../support/redis-server.js';

const quiet = { warn() {}, error() {}, info() {} };

function stored(extra: Partial<StoredRollout> = {}): StoredRollout {
  return {
    id: 'r1', pool: 'api', plan: {} as StoredRollout['plan'], canary: ['c1'], baseline: ['b1'], startedAt: 1, startedBy: 'ops',
    engine: { status: 'running' } as StoredRollout['engine'], finalStage: 'pending', updatedAt: 1, version: 0, leader: 'i-a', last: null, ...extra,
  };
}

function second(canary: [number, number, number], baseline: [number, number, number]): Second {
  const s: Second = { canary: emptyArm(), baseline: emptyArm() };
  for (const [arm, [requests, errors, ms]] of [[s.canary, canary], [s.baseline, baseline]] as const) {
    arm.requests = requests;
    arm.errors = errors;
    arm.buckets[bucketOf(ms)] = requests;
  }
  return s;
}

describe('rollouts in Redis: compare-and-set states, the lead, the fleet’s seconds (real redis-server)', () => {
  let server: RedisServer;
  let clients: Redis[] = [];
  let stores: RedisControlStore[] = [];
  let prefix = 0;

  before(async function () {
    requireTool(this, 'redis-server');
    server = await RedisServer.start();
  });
  after(async () => {
    await server?.kill();
  });
  afterEach(async () => {
    await Promise.all(stores.map((store) => store.close()));
    for (const client of clients) client.disconnect();
    stores = [];
    clients = [];
  });

  /** An opened control store, as one instance has it. */
  async function open(instanceId: string): Promise<RedisControlStore> {
    const client = new Redis(server.url);
    clients.push(client);
    const store = new RedisControlStore(client, { prefix: `u${prefix}:` });
    stores.push(store);
    await store.open({ instanceId, seed: { revision: 0, pools: {} }, seedMode: 'if-empty', listener: { committed() {}, resynced() {} }, logger: quiet });
    return store;
  }

  beforeEach(() => prefix++);

  it('saves only over the version read: a second writer of the same version gets a conflict and changes nothing', async () => {
    const states = new RedisRolloutStates(await open('i-a'));
    const other = new RedisRolloutStates(await open('i-b'));
    expect(await states.load('api')).to.equal(undefined);
    expect(await states.save(stored())).to.equal(1);
    const read = (await other.load('api'))!;
    expect(read).to.include({ id: 'r1', version: 1 });
    expect(await other.save({ ...read, finalStage: 'promoting' })).to.equal(2);
    // the first writer still holds version 1: refused
    expect(await states.save(stored({ version: 1, finalStage: 'done' }))).to.equal(undefined);
    expect((await states.load('api'))!).to.include({ finalStage: 'promoting', version: 2 });
  });

  it('gives the lead to one instance at a time, and to the next once it is released', async () => {
    const a = new RedisRolloutFleet(await open('i-a'), 'api', 'i-a');
    const b = new RedisRolloutFleet(await open('i-b'), 'api', 'i-b');
    expect(await a.lead()).to.equal(true);
    expect(await b.lead()).to.equal(false);
    expect(await a.lead()).to.equal(true); // renewal
    await a.release();
    expect(await b.lead()).to.equal(true);
    expect(await a.lead()).to.equal(false);
  });

  it('sums the seconds followers sent for this rollout, once, with their latency buckets', async () => {
    const store = await open('i-a');
    const leader = new RedisRolloutFleet(store, 'api', 'i-a');
    const followers = [new RedisRolloutFleet(await open('i-b'), 'api', 'i-b'), new RedisRolloutFleet(await open('i-c'), 'api', 'i-c')];
    followers[0]!.contribute('r1', second([10, 1, 5], [90, 0, 5]));
    followers[1]!.contribute('r1', second([20, 2, 80], [80, 1, 5]));
    followers[1]!.contribute('old', second([999, 999, 5], [0, 0, 5])); // another rollout's: not counted
    // a connection answers in order: once each follower's PING is answered, its seconds are in
    await Promise.all([clients[1]!.ping(), clients[2]!.ping()]);
    const sum = (await leader.collect('r1'))!;
    expect(sum.canary).to.include({ requests: 30, errors: 3 });
    expect(sum.baseline).to.include({ requests: 170, errors: 1 });
    expect(sum.canary.buckets[bucketOf(5)]).to.equal(10);
    expect(sum.canary.buckets[bucketOf(80)]).to.equal(20);
    expect(await leader.collect('r1')).to.equal(undefined);
  });

  it('answers STORE_UNAVAILABLE while Redis is away, and a lead nobody holds', async () => {
    const store = await open('i-a');
    const states = new RedisRolloutStates(store);
    const fleet = new RedisRolloutFleet(store, 'api', 'i-a');
    clients[0]!.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 20));
    let error: unknown;
    await states.save(stored()).catch((e: unknown) => (error = e));
    expect((error as { code?: string }).code).to.equal('STORE_UNAVAILABLE');
    expect(await fleet.lead()).to.equal(false);
    expect(await fleet.collect('r1')).to.equal(undefined);
  });
});
