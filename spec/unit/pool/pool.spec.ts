import { expect } from 'chai';
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
