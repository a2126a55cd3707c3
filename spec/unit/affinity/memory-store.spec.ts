import { expect } from 'chai';
import { MemoryAffinityStore } from '../../../middleware/affinity/memory-store.js';

describe('MemoryAffinityStore', () => {
  let clock = 0;
  const now = (): number => clock;
  beforeEach(() => (clock = 1_000_000));

  it('remembers a session per pool', () => {
    const store = new MemoryAffinityStore({ now });
    store.set('api', 's1', 'a', 1000);
    store.set('web', 's1', 'w', 1000);
    expect(store.get('api', 's1', 1000)).to.equal('a');
    expect(store.get('web', 's1', 1000)).to.equal('w');
    expect(store.get('api', 's2', 1000)).to.equal(undefined);
    store.set('api', 's1', 'b', 1000);
    expect(store.get('api', 's1', 1000)).to.equal('b');
    expect(store.size).to.equal(2);
  });

  it('forgets a session after its TTL', () => {
    const store = new MemoryAffinityStore({ now });
    store.set('api', 's1', 'a', 1000);
    clock += 999;
    expect(store.get('api', 's1', 1000)).to.equal('a');
    clock += 1000;
    expect(store.get('api', 's1', 1000)).to.equal(undefined);
    expect(store.size).to.equal(0);
  });

  it('refreshes the TTL on each use', () => {
    const store = new MemoryAffinityStore({ now });
    store.set('api', 's1', 'a', 1000);
    for (let i = 0; i < 5; i++) {
      clock += 800;
      expect(store.get('api', 's1', 1000)).to.equal('a');
    }
    clock += 1001;
    expect(store.get('api', 's1', 1000)).to.equal(undefined);
  });

  it('stays within maxEntries, evicting the least recently used', () => {
    const store = new MemoryAffinityStore({ maxEntries: 3, now });
    store.set('api', 's1', 'a', 60_000);
    store.set('api', 's2', 'a', 60_000);
    store.set('api', 's3', 'a', 60_000);
    store.get('api', 's1', 60_000); // s1 used: s2 is now the least recent
    store.set('api', 's4', 'a', 60_000);
    expect(store.size).to.equal(3);
    expect(store.get('api', 's2', 60_000)).to.equal(undefined);
    for (const kept of ['s1', 's3', 's4']) expect(store.get('api', kept, 60_000)).to.equal('a');
    for (let i = 0; i < 1000; i++) store.set('api', `many${i}`, 'b', 60_000);
    expect(store.size).to.equal(3);
    expect(store.pinned('api').get('b')).to.equal(3);
    expect(store.pinned('api').get('a')).to.equal(undefined);
  });

  it('counts live sessions per server exactly, through re-pins, expiry and eviction', () => {
    const store = new MemoryAffinityStore({ maxEntries: 10, now });
    store.set('api', 's1', 'a', 1000);
    store.set('api', 's2', 'a', 1000);
    expect([...store.pinned('api')]).to.deep.equal([['a', 2]]);
    clock += 500;
    store.set('api', 's3', 'b', 1000);
    store.set('web', 's1', 'w', 1000);
    store.set('api', 's2', 'b', 1000); // re-pinned
    expect([...store.pinned('api')].sort()).to.deep.equal([['a', 1], ['b', 2]]);
    clock += 700; // api's s1 expires; the others were used since
    expect([...store.pinned('api')]).to.deep.equal([['b', 2]]);
    expect([...store.pinned('web')]).to.deep.equal([['w', 1]]);
    clock += 400;
    expect(store.pinned('api').size).to.equal(0);
    expect(store.pinned('nope').size).to.equal(0);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new MemoryAffinityStore({ maxEntries: 0 })).to.throw(RangeError);
    expect(() => new MemoryAffinityStore({ maxEntries: 1.5 })).to.throw(RangeError);
  });

  it('is empty after close', async () => {
    const store = new MemoryAffinityStore({ now });
    store.set('api', 's1', 'a', 1000);
    await store.close();
    expect(store.size).to.equal(0);
    expect(store.get('api', 's1', 1000)).to.equal(undefined);
  });
});
