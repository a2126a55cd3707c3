import { expect } from 'chai';
import { createBalancer, MemoryControlStore, type Balancer, type RolloutEvent, type RolloutPlan } from '../../middleware/index.js';
import { startBackend, type Backend } from '../support/backends.js';
import { startHost, type Host } from '../support/hosts.js';
import { waitFor } from '../support/wait.js';
import { drive, modalHandler, modes, newUsers, type User } from '../support/rollout-traffic.js';

const SECRET = 'rollout-e2e-secret-0123456789';
const ANALYSIS = { minRequests: 30, guardrailMinRequests: 10, confidence: 0.99 };

describe('rollouts on real backends', function () {
  this.timeout(30_000);
  let backends: Backend[];
  let balancer: Balancer;
  let host: Host;
  let events: RolloutEvent[];
  let store: MemoryControlStore;

  function build(): Balancer {
    const made = createBalancer({
      pools: { api: { sticky: true, drainTimeoutMs: 300, servers: backends.map((b) => ({ id: b.id, url: b.url, labels: { version: b.id.startsWith('c') ? 'v2' : 'v1' } })) } },
      routes: [{ path: '/api', pool: 'api' }],
      sticky: { secret: SECRET },
      control: { store },
    });
    made.on('rollout', (event) => events.push(event));
    return made;
  }

  beforeEach(async () => {
    modes.clear();
    events = [];
    store = new MemoryControlStore();
    backends = await Promise.all(['b1', 'b2', 'c1'].map((id) => startBackend(id, modalHandler)));
    balancer = build();
    host = await startHost('wrap', balancer);
  });

  afterEach(async () => {
    await host.close();
    await balancer.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  const plan = (extra: Partial<RolloutPlan> = {}): RolloutPlan => ({
    canary: { label: { version: 'v2' } },
    steps: [{ share: 20, bakeMs: 1500 }, { share: 50, bakeMs: 1500 }, { share: 100 }],
    analysis: ANALYSIS,
    cohort: { key: 'session' },
    drainMs: 200,
    ...extra,
  });

  it('promotes a good canary step by step, then drains and removes the baseline', async () => {
    const users = newUsers(60);
    const traffic = drive(host.url, users);
    const rollout = await balancer.pool('api').rollout(plan());
    const result = await rollout.done;
    await traffic.stop();
    expect(result.status).to.equal('completed');
    expect(events.map((e) => e.type)).to.deep.equal(['start', 'step', 'complete']);
    expect(events[1]!.share).to.equal(50);
    expect(events[1]!.verdict?.kind).to.equal('pass');
    expect(balancer.pool('api').records().map((r) => r.id)).to.deep.equal(['c1']);
    const audited = balancer.audit.recent().filter((entry) => entry.action === 'rollout').map((entry) => (entry.after as { event: string }).event);
    expect(audited.reverse()).to.deep.equal(['start', 'step', 'complete']);
    // the canary's share was honoured during the first step: between none and all of the traffic
    expect(backends[2]!.hits).to.be.above(0);
  });

  it('rolls back a canary that fails every request within seconds, and its sticky users move back', async () => {
    modes.set('c1', 'fail');
    const users = newUsers(80);
    const traffic = drive(host.url, users);
    await waitFor('every user pinned', () => users.every((u) => u.cookie !== undefined), 5000);
    const started = Date.now();
    const rollout = await balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 20_000 }, { share: 100 }] }));
    await waitFor('canary users', () => users.some((u) => u.seen.at(-1) === 'c1'), 5000);
    const result = await rollout.done;
    const tookMs = Date.now() - started;
    const canaryUsers = users.filter((u) => u.seen.includes('c1'));
    const marks = users.map((u) => u.seen.length);
    await waitFor('every canary user served again', () => canaryUsers.every((u) => u.seen.length > marks[users.indexOf(u)]! + 1), 5000);
    await traffic.stop();
    expect(result.status).to.equal('aborted');
    expect(['guardrail', 'errors']).to.include(result.decision?.rule ?? events.at(-1)?.verdict?.rule);
    expect(tookMs).to.be.below(5000);
    expect(events.at(-1)!.reason).to.match(/canary 100(\.0)?% errors/);
    expect(balancer.pool('api').records().find((r) => r.id === 'c1')!.admin).to.equal('disabled');
    expect(canaryUsers.length).to.be.above(0);
    for (const user of canaryUsers) expect(user.seen.at(-1)).to.match(/^b/);
  });

  it('rolls back a slow canary at the end of its bake on latency', async () => {
    modes.set('c1', 'slow');
    const traffic = drive(host.url, newUsers(60), { concurrency: 10 });
    const rollout = await balancer.pool('api').rollout(plan({ steps: [{ share: 40, bakeMs: 3000 }, { share: 100 }], analysis: { ...ANALYSIS, minRequests: 40 } }));
    const result = await rollout.done;
    await traffic.stop();
    expect(result.status).to.equal('aborted');
    const verdict = events.at(-1)!.verdict!;
    expect(verdict.rule).to.equal('latency');
    expect(verdict.canary.p50Ms).to.be.above(verdict.baseline.p50Ms * 2);
  });

  it('pause stops the bake clock; resume goes on to completion', async () => {
    const traffic = drive(host.url, newUsers(40));
    const rollout = await balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 1500 }, { share: 100 }], final: 'keep' }));
    await rollout.pause({ actor: 'ops' });
    const left = rollout.snapshot().bakeLeftMs;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(rollout.status).to.equal('paused');
    expect(rollout.snapshot().bakeLeftMs).to.equal(left);
    await rollout.resume({ actor: 'ops' });
    const result = await rollout.done;
    await traffic.stop();
    expect(result.status).to.equal('completed');
    expect(events.map((e) => `${e.type}:${e.user}`)).to.deep.equal(['start:code', 'pause:ops', 'resume:ops', 'complete:rollout']);
    // keep: both versions stay
    expect(balancer.pool('api').records().map((r) => r.id)).to.deep.equal(['b1', 'b2', 'c1']);
    expect(balancer.snapshot().pools.api!.rollout?.status).to.equal('completed');
  });

  it('abort() by hand disables the canary and refuses a second abort', async () => {
    const rollout = await balancer.pool('api').rollout(plan());
    let conflict: unknown;
    await balancer.pool('api').rollout(plan()).catch((e: unknown) => (conflict = e));
    expect((conflict as { code?: string }).code).to.equal('CONFLICT');
    await rollout.abort({ actor: 'ops', reason: 'bad deploy' });
    const result = await rollout.done;
    expect(result).to.include({ status: 'aborted', reason: 'bad deploy' });
    expect(balancer.pool('api').records().find((r) => r.id === 'c1')!.admin).to.equal('disabled');
    let error: unknown;
    await rollout.abort().catch((e: unknown) => (error = e));
    expect((error as { code?: string }).code).to.equal('CONFLICT');
  });

  it('an instance restarted mid-rollout resumes it where it was', async () => {
    const users: User[] = newUsers(40);
    let traffic = drive(host.url, users);
    const first = await balancer.pool('api').rollout(plan({ steps: [{ share: 30, bakeMs: 3000 }, { share: 100 }], final: 'keep' }));
    await waitFor('a second of counts', () => first.snapshot().canary.window.requests > 0, 3000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await traffic.stop();
    await host.close();
    await balancer.close();
    const restartedAt = Date.now();
    balancer = build(); // the same MemoryControlStore: a restart
    host = await startHost('wrap', balancer);
    traffic = drive(host.url, users);
    await waitFor('the rollout resumed', () => balancer.pool('api').currentRollout() !== undefined, 3000);
    const resumed = balancer.pool('api').currentRollout()!;
    expect(resumed.id).to.equal(first.id);
    expect(resumed.snapshot().bakeLeftMs).to.be.below(2000);
    const result = await resumed.done;
    await traffic.stop();
    expect(result.status).to.equal('completed');
    expect(Date.now() - restartedAt).to.be.below(3500);
    expect(events.filter((e) => e.id === first.id).map((e) => e.type)).to.deep.equal(['start', 'complete']);
  });
});
