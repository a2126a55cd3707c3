import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createBalancer, RedisControlStore, type Balancer, type Rollout, type RolloutEvent, type RolloutPlan } from '../../middleware/index.js';
import { startBackend, type Backend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { send, startHost, type Host } from '../support/hosts.js';
import { recorder, type RecordingLogger } from '../support/recording-logger.js';
import { RedisServer } from '../support/redis-server.js';
import { drive, modalHandler, modes, newUsers } from '../support/rollout-traffic.js';
import { waitFor } from '../support/wait.js';

const ANALYSIS = { minRequests: 30, guardrailMinRequests: 10, confidence: 0.99 };

/** One balancer instance: its own Redis connection, its own host; it shares only what is in Redis. */
interface Instance {
  id: string;
  client: Redis;
  balancer: Balancer;
  host: Host;
  events: RolloutEvent[];
  logger: RecordingLogger;
  closed: boolean;
}

describe('a rollout shared by instances over Redis', function () {
  this.timeout(40_000);
  let redis: RedisServer;
  let backends: Backend[];
  let instances: Instance[] = [];
  let prefix = 0;

  before(async function () {
    requireTool(this, 'redis-server');
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis?.kill();
  });

  beforeEach(async () => {
    modes.clear();
    prefix++;
    backends = await Promise.all(['b1', 'b2', 'c1'].map((id) => startBackend(id, modalHandler)));
  });

  afterEach(async () => {
    await Promise.all(instances.map((instance) => close(instance)));
    instances = [];
    await Promise.all(backends.map((b) => b.close()));
  });

  async function start(id: string): Promise<Instance> {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const logger = recorder();
    const balancer = createBalancer({
      logger,
      pools: { api: { drainTimeoutMs: 300, servers: backends.map((b) => ({ id: b.id, url: b.url, labels: { version: b.id.startsWith('c') ? 'v2' : 'v1' } })) } },
      routes: [{ path: '/api', pool: 'api' }],
      control: { store: new RedisControlStore(client, { prefix: `r${prefix}:` }), instanceId: id },
    });
    const instance: Instance = { id, client, balancer, host: await startHost('wrap', balancer), events: [], logger, closed: false };
    balancer.on('rollout', (event) => instance.events.push(event));
    instances.push(instance);
    await waitFor(`${id} joined the store`, () => balancer.controlStatus().available, 5000, 20);
    return instance;
  }

  async function close(instance: Instance): Promise<void> {
    if (instance.closed) return;
    instance.closed = true;
    await instance.host.close();
    await instance.balancer.close();
    instance.client.disconnect();
  }

  const plan = (extra: Partial<RolloutPlan> = {}): RolloutPlan => ({
    canary: { label: { version: 'v2' } },
    steps: [{ share: 30, bakeMs: 1500 }, { share: 60, bakeMs: 1500 }, { share: 100 }],
    analysis: ANALYSIS,
    final: 'keep',
    ...extra,
  });

  /** The rollout as the other instance picks it up from Redis. */
  async function followed(instance: Instance, id: string): Promise<Rollout> {
    await waitFor(`${instance.id} follows rollout ${id}`, () => instance.balancer.pool('api').currentRollout()?.id === id, 3000, 20);
    return instance.balancer.pool('api').currentRollout()!;
  }

  it('the starter leads; the other follows the plan, and its counts reach the judgement that promotes', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    // every request goes through the follower: the leader judges on its counts alone
    const traffic = drive(b.host.url, newUsers(40));
    const rollout = await a.balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 2500 }, { share: 60, bakeMs: 2500 }, { share: 100 }] }), { actor: 'ops' });
    const sentAt = Date.now();
    const following = await followed(b, rollout.id);
    expect(rollout.snapshot()).to.include({ leader: true, leaderInstance: 'i-a' });
    expect(following.snapshot()).to.include({ leader: false, leaderInstance: 'i-a' });
    await waitFor('the follower’s requests counted by the leader', () => rollout.snapshot().canary.window.requests + rollout.snapshot().baseline.window.requests > 0, 4000, 20);
    const reachedMs = Date.now() - sentAt;
    const [result, followerResult] = await Promise.all([rollout.done, following.done]);
    await traffic.stop();
    expect(result.status).to.equal('completed');
    expect(followerResult.status).to.equal('completed');
    // the follower picks the rollout up (≤ 1 tick), sends a second (≤ 1 tick), the leader reads it (≤ 1 tick)
    expect(reachedMs).to.be.below(5000);
    expect(backends[2]!.hits).to.be.above(0);
    // both instances announce every transition, each once; the follower audits what the leader did
    // (a bake may be extended once when the follower's last second arrives after it ends)
    expect(a.events.map((e) => e.type).filter((type) => type !== 'extend')).to.deep.equal(['start', 'step', 'complete']);
    // the follower announces what it sees after it picked the rollout up
    await waitFor('the follower saw the end', () => b.events.at(-1)?.type === 'complete', 3000, 20);
    expect(b.events.map((e) => e.type)).to.include.members(['step', 'complete']);
    const audited = b.balancer.audit.recent().filter((entry) => entry.action === 'rollout');
    expect(audited.map((entry) => (entry.after as { instance: string }).instance)).to.include('i-a');
    expect(audited.find((entry) => (entry.after as { event: string }).event === 'complete')?.user).to.equal('rollout');
    expect(a.balancer.audit.recent().find((entry) => (entry.after as { event?: string }).event === 'start')?.user).to.equal('ops');
  });

  it('a canary that fails only the follower’s traffic is rolled back by the leader, on both instances', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    modes.set('c1', 'fail');
    const rollout = await a.balancer.pool('api').rollout(plan({ steps: [{ share: 40, bakeMs: 30_000 }, { share: 100 }] }));
    const following = await followed(b, rollout.id);
    const traffic = drive(b.host.url, newUsers(40));
    const started = Date.now();
    const result = await rollout.done;
    const tookMs = Date.now() - started;
    await following.done;
    await traffic.stop();
    expect(result.status).to.equal('aborted');
    expect(tookMs).to.be.below(8000);
    expect(result.reason).to.match(/canary 100(\.0)?% errors/);
    for (const instance of [a, b]) {
      await waitFor(`c1 disabled on ${instance.id}`, () => instance.balancer.pool('api').records().find((r) => r.id === 'c1')?.admin === 'disabled', 3000, 20);
    }
  });

  it('pause, resume and abort work from the follower; the leader takes them up', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    const rollout = await a.balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 60_000 }, { share: 100 }] }));
    const following = await followed(b, rollout.id);
    await following.pause({ actor: { user: 'ops', address: '10.0.0.7' } });
    await waitFor('paused on the leader', () => rollout.status === 'paused', 3000, 20);
    expect(a.events.at(-1)).to.include({ type: 'pause', user: 'ops' });
    await following.resume({ actor: 'ops' });
    await waitFor('running on the leader', () => rollout.status === 'running', 3000, 20);
    const abortedAt = Date.now();
    await following.abort({ actor: 'ops', reason: 'bad build' });
    const result = await rollout.done;
    expect(result).to.include({ status: 'aborted', reason: 'bad build' });
    expect(Date.now() - abortedAt).to.be.below(3000);
    // the leader did the final action: the canary is disabled in the shared state
    await waitFor('c1 disabled on the follower', () => b.balancer.pool('api').records().find((r) => r.id === 'c1')?.admin === 'disabled', 3000, 20);
    const pause = a.balancer.audit.recent().find((entry) => (entry.after as { event?: string }).event === 'pause');
    expect(pause).to.include({ user: 'ops', address: '10.0.0.7' });
    let conflict: unknown;
    await following.abort().catch((error: unknown) => (conflict = error));
    expect((conflict as { code?: string }).code).to.equal('CONFLICT');
  });

  it('a cohort function given to every instance keeps each user on one arm, whichever instance serves it', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    const byUser = (req: { headers: Record<string, string | string[] | undefined> }): string | undefined => req.headers['x-user'] as string | undefined;
    b.balancer.pool('api').useRolloutCohort(byUser);
    const rollout = await a.balancer.pool('api').rollout(plan({ steps: [{ share: 50, bakeMs: 60_000 }, { share: 100 }], cohort: { key: byUser } }));
    await followed(b, rollout.id);
    const armOf = async (instance: Instance, user: string): Promise<string> => {
      const reply = await send(instance.host.url, '/api/x', { headers: { 'x-user': user } });
      return reply.json<{ backend: string }>().backend.startsWith('c') ? 'canary' : 'baseline';
    };
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const arms = await Promise.all(users.map(async (user) => [await armOf(a, user), await armOf(b, user)]));
    for (const [onA, onB] of arms) expect(onB).to.equal(onA);
    // and the split is a real one: both arms have users
    expect(new Set(arms.map(([arm]) => arm)).size).to.equal(2);
    await rollout.abort();
  });

  it('one rollout per pool across the fleet: a start on the other instance is a CONFLICT', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    const results = await Promise.allSettled([a.balancer.pool('api').rollout(plan()), b.balancer.pool('api').rollout(plan())]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as { code?: string }).code).to.equal('CONFLICT');
    const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Rollout>).value;
    await winner.abort();
  });

  it('a leader that closes hands over within a tick, and the plan goes on from the shared state', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    const traffic = drive(b.host.url, newUsers(40));
    const rollout = await a.balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 5000 }, { share: 100 }] }));
    const following = await followed(b, rollout.id);
    await waitFor('some seconds judged', () => rollout.snapshot().canary.window.requests > 0, 4000, 20);
    const step = rollout.snapshot().step;
    const closedAt = Date.now();
    await close(a);
    await waitFor('the follower leads', () => following.snapshot().leader, 3000, 20);
    const handoverMs = Date.now() - closedAt;
    expect(following.snapshot()).to.include({ step, status: 'running' });
    const result = await following.done;
    await traffic.stop();
    expect(result.status).to.equal('completed');
    expect(handoverMs).to.be.below(2500);
    expect(following.snapshot().leaderInstance).to.equal('i-b');
  });

  it('a leader cut off from Redis loses the lead when its lease lapses; the other goes on', async () => {
    const a = await start('i-a');
    const b = await start('i-b');
    const traffic = drive(b.host.url, newUsers(40));
    const rollout = await a.balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 4000 }, { share: 100 }] }));
    const following = await followed(b, rollout.id);
    const cutAt = Date.now();
    a.client.disconnect(); // no release: as if the process had died
    await waitFor('the follower leads', () => following.snapshot().leader, 6000, 20);
    const takeoverMs = Date.now() - cutAt;
    const result = await following.done;
    await traffic.stop();
    expect(result.status).to.equal('completed');
    // the lease is 3 s, renewed every second
    expect(takeoverMs).to.be.within(1000, 5000);
    // and the cut-off one stood down instead of judging on alone
    expect(a.logger.infos.some((line) => /i-a no longer leads/.test(line))).to.equal(true);
    expect(a.logger.warnings.some((line) => /cannot be read or stored; it holds where it is/.test(line))).to.equal(true);
  });
});
