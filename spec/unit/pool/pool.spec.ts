import { expect } from 'chai';
import type { PickContext } from '../../../middleware/algorithms/algorithm.js';
import { ControlError } from '../../../middleware/errors.js';
import { normalizeOptions, type PoolOptions } from '../../../middleware/options.js';
import type { ChangeEvent } from '../../../middleware/pool/events.js';
import { Pool } from '../../../middleware/pool/pool.js';

const context: PickContext = { clientAddress: '127.0.0.1', method: 'GET', path: '/', headers: {}, now: Date.now() };

function pool(options: Partial<PoolOptions> & Pick<PoolOptions, 'servers'>): { pool: Pool; events: ChangeEvent[] } {
  const events: ChangeEvent[] = [];
  const config = normalizeOptions({ pools: { api: options } }).pools[0]!;
  return { pool: new Pool(config, (event) => events.push(event)), events };
}

const three = [
  { id: 'a', url: 'http://127.0.0.1:1' },
  { id: 'b', url: 'http://127.0.0.1:2' },
  { id: 'c', url: 'http://127.0.0.1:3', backup: true },
];

describe('pool', () => {
  it('sends traffic to backups only when no primary is eligible', () => {
    const { pool: p } = pool({ servers: three });
    expect(p.eligible.map((s) => s.id)).to.deep.equal(['a', 'b']);
    p.disable('a');
    p.setWeight('b', 0);
    expect(p.eligible.map((s) => s.id)).to.deep.equal(['c']);
    p.enable('a');
    expect(p.eligible.map((s) => s.id)).to.deep.equal(['a']);
  });

  it('emits one change event per change, with before and after', () => {
    const { pool: p, events } = pool({ servers: three });
    p.setWeight('a', 5);
    p.setWeight('a', 5); // no change, no event
    p.disable('b');
    p.addServer({ id: 'd', url: 'http://127.0.0.1:4' });
    expect(events.map(({ type, server, before, after }) => ({ type, server, before, after }))).to.deep.equal([
      { type: 'weight', server: 'a', before: 1, after: 5 },
      { type: 'state', server: 'b', before: 'active', after: 'disabled' },
      { type: 'added', server: 'd', before: null, after: 'active' },
    ]);
  });

  it('refuses bad control calls and changes nothing', () => {
    const { pool: p, events } = pool({ servers: three });
    const before = JSON.stringify(p.snapshot().servers.map((s) => [s.id, s.state, s.weight]));
    expect(() => p.setWeight('zz', 1)).to.throw(ControlError, /no server "zz"/);
    expect(() => p.setWeight('a', -1)).to.throw(ControlError, />= 0/);
    expect(() => p.setWeight('a', Number.NaN)).to.throw(ControlError);
    expect(() => p.addServer({ id: 'a', url: 'http://127.0.0.1:9' })).to.throw(ControlError, /already exists/);
    expect(() => p.addServer({ id: 'e', url: 'ftp://x' })).to.throw(ControlError, /http: or https:/);
    expect(() => p.disable('nope')).to.throw(ControlError).with.property('notFound', true);
    expect(JSON.stringify(p.snapshot().servers.map((s) => [s.id, s.state, s.weight]))).to.equal(before);
    expect(events).to.have.length(0);
  });

  it('uses a custom algorithm, and refuses an answer outside the list', () => {
    const last = { pick: <S>(servers: readonly S[]) => servers[servers.length - 1] };
    expect(pool({ servers: three, algorithm: last }).pool.pick(context)?.id).to.equal('b');
    const rogue = { pick: <S>(): S => ({ id: 'a', effectiveWeight: () => 1, active: 0 }) as S };
    expect(pool({ servers: three, algorithm: rogue }).pool.pick(context)).to.equal(undefined);
    // a member of the pool, but not eligible: refused too
    let answer: unknown;
    const { pool: p } = pool({ servers: three, algorithm: { pick: <S>() => answer as S } });
    answer = p.get('a');
    p.disable('a');
    expect(p.pick(context)).to.equal(undefined);
  });

  it('leaves out servers already tried, falling back to backups', () => {
    const { pool: p } = pool({ servers: three });
    const tried = new Set([p.get('a')!, p.get('b')!]);
    expect(p.pick(context, tried)?.id).to.equal('c');
  });
});
