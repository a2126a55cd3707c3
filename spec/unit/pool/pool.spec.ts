import { expect } from 'chai';
import type { ConsistentHash } from '../../../middleware/algorithms/consistent-hash.js';
import { ControlError } from '../../../middleware/errors.js';
import { closeTestPools, pick, pickContext, rejection, testPool } from '../../support/pools.js';

const three = [
  { id: 'a', url: 'http://127.0.0.1:1' },
  { id: 'b', url: 'http://127.0.0.1:2' },
  { id: 'c', url: 'http://127.0.0.1:3', backup: true },
];

describe('pool', () => {
  afterEach(closeTestPools);

  it('sends traffic to backups only when no primary is eligible', async () => {
    const { pool, control } = testPool({ servers: three });
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['a', 'b']);
    await control.disable('a');
    await control.setWeight('b', 0);
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['c']);
    await control.enable('a');
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['a']);
  });

  it('applies a change before the call returns with the in-memory store', () => {
    const { pool, control } = testPool({ servers: three });
    void control.disable('a');
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['b']);
  });

  it('emits one change event per commit, carrying the full records, origin, actor and revision', async () => {
    const { control, changes } = testPool({ servers: three });
    await control.setWeight('a', 5, { actor: 'deploy-bot' });
    await control.setWeight('a', 5); // no change, no event
    await control.disable('b');
    await control.addServer({ id: 'd', url: 'http://127.0.0.1:4', labels: { version: 'v2' } });
    expect(changes.map((event) => ({ revision: event.revision, origin: event.origin, actor: event.actor?.user, changes: event.changes.map(({ id, before, after }) => ({ id, before: before && { weight: before.weight, admin: before.admin }, after: after && { weight: after.weight, admin: after.admin, labels: after.labels, rev: after.rev } })) }))).to.deep.equal([
      { revision: 1, origin: 'local', actor: 'deploy-bot', changes: [{ id: 'a', before: { weight: 1, admin: 'active' }, after: { weight: 5, admin: 'active', labels: {}, rev: 1 } }] },
      { revision: 2, origin: 'local', actor: undefined, changes: [{ id: 'b', before: { weight: 1, admin: 'active' }, after: { weight: 1, admin: 'disabled', labels: {}, rev: 2 } }] },
      { revision: 3, origin: 'local', actor: undefined, changes: [{ id: 'd', before: null, after: { weight: 1, admin: 'active', labels: { version: 'v2' }, rev: 3 } }] },
    ]);
  });

  it('audits every change made in code, with its actor', async () => {
    const { balancer, control } = testPool({ servers: three });
    await control.setWeight('a', 3, { actor: { user: 'ops', address: '10.0.0.1' } });
    await control.disable('b');
    expect(balancer.audit.recent().map(({ user, address, action, server, before, after, origin }) => ({ user, address, action, server, before, after, origin }))).to.deep.equal([
      { user: 'code', address: undefined, action: 'disable', server: 'b', before: 'active', after: 'disabled', origin: 'local' },
      { user: 'ops', address: '10.0.0.1', action: 'weight', server: 'a', before: 1, after: 3, origin: 'local' },
    ]);
  });

  it('refuses bad control calls with a rejected promise and changes nothing', async () => {
    const { pool, control, changes } = testPool({ servers: three });
    const before = JSON.stringify(pool.snapshot().servers.map((s) => [s.id, s.state, s.weight]));
    expect(await rejection(control.setWeight('zz', 1))).to.be.instanceOf(ControlError).with.property('code', 'NOT_FOUND');
    expect((await rejection(control.setWeight('a', -1))).message).to.match(/from 0 to 256/);
    expect((await rejection(control.setWeight('a', 257))).message).to.match(/from 0 to 256/);
    expect(await rejection(control.setWeight('a', Number.NaN))).to.be.instanceOf(ControlError);
    expect((await rejection(control.addServer({ id: 'a', url: 'http://127.0.0.1:9' }))).message).to.match(/already exists/);
    expect((await rejection(control.addServer({ id: 'e', url: 'ftp://x' }))).message).to.match(/http: or https:/);
    expect(await rejection(control.disable('nope'))).to.have.property('notFound', true);
    const drain = control.drain('nope');
    expect(drain).to.be.instanceOf(Promise);
    expect(await rejection(drain)).to.have.property('code', 'NOT_FOUND');
    expect(JSON.stringify(pool.snapshot().servers.map((s) => [s.id, s.state, s.weight]))).to.equal(before);
    expect(changes).to.have.length(0);
  });

  it('uses a custom algorithm, and refuses an answer outside the list', async () => {
    const last = { pick: <S>(servers: readonly S[]) => servers[servers.length - 1] };
    expect(pick(testPool({ servers: three, algorithm: last }).pool)?.id).to.equal('b');
    const rogue = { pick: <S>(): S => ({ id: 'a', weight: 1, effectiveWeight: () => 1, active: 0 }) as unknown as S };
    expect(pick(testPool({ servers: three, algorithm: rogue }).pool)).to.equal(undefined);
    // a member of the pool, but not eligible: refused too
    let answer: unknown;
    const { pool, control } = testPool({ servers: three, algorithm: { pick: <S>() => answer as S } });
    answer = pool.get('a');
    await control.disable('a');
    expect(pick(pool)).to.equal(undefined);
  });

  it('refuses a pick when a custom algorithm throws, and the process goes on', () => {
    const thrower = { pick: (): never => { throw new Error('boom'); } };
    expect(pick(testPool({ servers: three, algorithm: thrower }).pool)).to.equal(undefined);
  });

  it('leaves out servers already tried, falling back to backups', () => {
    const { pool } = testPool({ servers: three });
    const exclude = new Set([pool.get('a')!, pool.get('b')!]);
    expect(pick(pool, { ...pickContext(), exclude })?.id).to.equal('c');
  });

  it('moves a session pinned to a backup back once a primary is eligible', async () => {
    const { pool, control } = testPool({ servers: three });
    await control.disable('a');
    await control.disable('b');
    const backup = pool.get('c')!;
    expect(pool.acceptsPinned(backup, Date.now())).to.equal(true);
    await control.enable('a');
    expect(pool.acceptsPinned(backup, Date.now())).to.equal(false);
  });

  it('keeps the configured servers apart from the live membership', async () => {
    const { balancer, control } = testPool({ servers: three });
    await control.addServer({ id: 'd', url: 'http://127.0.0.1:4' });
    expect(balancer.config.pools[0]!.initialServers.map((s) => s.id)).to.deep.equal(['a', 'b', 'c']);
    expect(control.records().map((r) => r.id)).to.deep.equal(['a', 'b', 'c', 'd']);
  });
});

describe('pool picks and retries', () => {
  afterEach(closeTestPools);

  it('rebuilds no hash table on a retry or an eligibility change, only on membership', async () => {
    const servers = Array.from({ length: 100 }, (_, i) => ({ id: `s${i}`, url: `http://127.0.0.1:${20000 + i}` }));
    const { pool, control } = testPool({ servers, algorithm: 'ip-hash' });
    const algorithm = pool.algorithm as ConsistentHash;
    const built = algorithm.builds;
    for (let i = 0; i < 200; i++) {
      const first = pick(pool, pickContext(Date.now(), `10.0.${i >> 8}.${i & 255}`))!;
      pick(pool, { ...pickContext(Date.now(), `10.0.${i >> 8}.${i & 255}`), exclude: new Set([first]) });
    }
    await control.disable('s3');
    await control.enable('s3');
    expect(algorithm.builds).to.equal(built);
    await control.addServer({ id: 'new', url: 'http://127.0.0.1:30000' });
    expect(algorithm.builds).to.equal(built + 1);
  });

  it('keeps smooth weighted shares when every other request is retried', () => {
    const { pool } = testPool({ algorithm: 'weighted-round-robin', servers: [{ id: 'a', url: 'http://127.0.0.1:1', weight: 5 }, { id: 'b', url: 'http://127.0.0.1:2' }, { id: 'c', url: 'http://127.0.0.1:3' }] });
    const counts = new Map<string, number>();
    for (let i = 0; i < 7000; i++) {
      const first = pick(pool)!;
      const answer = i % 2 === 0 ? pick(pool, { ...pickContext(), exclude: new Set([first]) })! : first;
      counts.set(answer.id, (counts.get(answer.id) ?? 0) + 1);
    }
    // a retry never repeats its first pick, so `a` can take at most 2 of 3: far from "only a"
    expect(counts.get('b')! / 7000).to.be.above(0.12);
    expect(counts.get('c')! / 7000).to.be.above(0.12);
    expect(counts.get('a')! / 7000).to.be.below(0.76);
  });

  it('tells a hash pool the request key, from a header', () => {
    const servers = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, url: `http://127.0.0.1:${20000 + i}` }));
    const { balancer } = testPool({ servers, algorithm: 'consistent-hash', hash: { key: 'header:x-user-id' } });
    expect(balancer.config.pools[0]!.hash.key!({ headers: { 'x-user-id': 'u-42' } } as never)).to.equal('u-42');
  });
});
