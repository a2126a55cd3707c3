import { expect } from 'chai';
import { MemoryAffinityStore } from '../../../middleware/affinity/memory-store.js';
import type { AffinityStore } from '../../../middleware/affinity/store.js';
import { StoreGuard, type StoreAnswer } from '../../../middleware/affinity/store-guard.js';
import { recorder } from '../../support/recording-logger.js';

/** A real in-memory store behind a switch: async like a network store, and breakable. */
class SwitchedStore implements AffinityStore {
  readonly inner = new MemoryAffinityStore();
  broken = false;
  /** Throw synchronously instead of rejecting, as a careless custom store might. */
  throws = false;
  calls = 0;

  async get(pool: string, session: string, ttlMs: number): Promise<string | undefined> {
    this.#check();
    return this.inner.get(pool, session, ttlMs);
  }

  set(pool: string, session: string, serverId: string, ttlMs: number): Promise<void> {
    if (this.throws) this.#check();
    return (async () => {
      this.#check();
      this.inner.set(pool, session, serverId, ttlMs);
    })();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #check(): void {
    this.calls++;
    if (this.broken) throw new Error('connection refused');
  }
}



const settle = async (answer: StoreAnswer | Promise<StoreAnswer>): Promise<StoreAnswer> => answer;
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('StoreGuard', () => {
  let clock = 0;
  beforeEach(() => (clock = 1_000_000));

  it('passes answers through while the store works', async () => {
    const store = new SwitchedStore();
    const guard = new StoreGuard(store, { logger: recorder(), now: () => clock });
    guard.set('api', 's1', 'a', 60_000);
    await flush();
    expect(await settle(guard.get('api', 's1', 60_000))).to.deep.equal({ state: 'hit', serverId: 'a' });
    expect(await settle(guard.get('api', 's2', 60_000))).to.deep.equal({ state: 'miss' });
  });

  it('logs one warning per outage, skips the store meanwhile but for one probe a second, and one message on recovery', async () => {
    const store = new SwitchedStore();
    const logger = recorder();
    const guard = new StoreGuard(store, { logger, probeIntervalMs: 1000, now: () => clock });
    store.broken = true;
    for (let i = 0; i < 50; i++) expect((await settle(guard.get('api', `s${i}`, 60_000))).state).to.equal('down');
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0]).to.match(/affinity store unavailable/);
    expect(store.calls, 'only the first call reached the store').to.equal(1);
    expect(guard.down).to.equal(true);

    clock += 1000; // a probe is due: one call goes through, and fails quietly
    for (let i = 0; i < 10; i++) await settle(guard.get('api', 's', 60_000));
    expect(store.calls).to.equal(2);
    expect(logger.warnings).to.have.length(1);

    store.broken = false;
    expect((await settle(guard.get('api', 's', 60_000))).state, 'no probe due yet').to.equal('down');
    clock += 1000;
    expect((await settle(guard.get('api', 's', 60_000))).state).to.equal('miss');
    expect(guard.down).to.equal(false);
    expect(logger.infos).to.deep.equal(['affinity store answering again']);
    expect(logger.warnings).to.have.length(1);

    store.broken = true; // a second outage is a second warning
    await settle(guard.get('api', 's', 60_000));
    expect(logger.warnings).to.have.length(2);
  });

  it('writes the pins made during an outage once the store is back', async () => {
    const store = new SwitchedStore();
    const guard = new StoreGuard(store, { logger: recorder(), now: () => clock });
    guard.set('api', 's1', 'a', 60_000);
    await flush();
    store.broken = true;
    guard.set('api', 's1', 'b', 60_000); // fails: opens the outage, queued
    await flush();
    guard.set('api', 's2', 'c', 60_000); // queued without asking
    expect(guard.pendingWrites).to.equal(2);
    store.broken = false;
    clock += 1000;
    await settle(guard.get('api', 'probe', 60_000));
    await flush();
    expect(guard.pendingWrites).to.equal(0);
    expect(store.inner.get('api', 's1', 60_000)).to.equal('b');
    expect(store.inner.get('api', 's2', 60_000)).to.equal('c');
  });

  it('bounds the pins it keeps for later, dropping the oldest', async () => {
    const store = new SwitchedStore();
    const guard = new StoreGuard(store, { logger: recorder(), maxPendingWrites: 3, now: () => clock });
    store.broken = true;
    for (let i = 0; i < 10; i++) guard.set('api', `s${i}`, 'a', 60_000);
    await flush();
    expect(guard.pendingWrites).to.equal(3);
  });

  it('treats a store that throws synchronously like one that rejects', async () => {
    const store = new SwitchedStore();
    const logger = recorder();
    const guard = new StoreGuard(store, { logger, now: () => clock });
    store.broken = true;
    store.throws = true;
    expect(() => guard.set('api', 's1', 'a', 60_000)).to.not.throw();
    expect(guard.down).to.equal(true);
    expect(logger.warnings).to.have.length(1);
  });

  it('does not let a late answer to a call begun before a transition flip the state back', async () => {
    let release: (value: string | undefined) => void = () => {};
    const slow: AffinityStore = {
      get: () => new Promise<string | undefined>((resolve) => (release = resolve)),
      set: () => Promise.reject(new Error('down')),
      close: async () => {},
    };
    const logger = recorder();
    const guard = new StoreGuard(slow, { logger, now: () => clock });
    const pending = guard.get('api', 's', 60_000); // begun while the store seemed fine
    guard.set('api', 's', 'a', 60_000); // fails: outage
    await flush();
    expect(guard.down).to.equal(true);
    release('a'); // the old call answers late
    expect(await settle(pending)).to.deep.equal({ state: 'hit', serverId: 'a' });
    expect(guard.down, 'still down: the answer predates the outage').to.equal(true);
    expect(logger.infos).to.have.length(0);
  });
});
