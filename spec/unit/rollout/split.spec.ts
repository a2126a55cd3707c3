import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import type { PickContext } from '../../../middleware/algorithms/algorithm.js';
import { Guard } from '../../../middleware/guard.js';
import { safeLogger, silentLogger } from '../../../middleware/logger.js';
import { ArmSplit, WHOLE_POOL, type Arm } from '../../../middleware/rollout/split.js';
import { closeTestPools, pickContext, testPool, type TestPool } from '../../support/pools.js';

/** A request as the split reads it: only its headers matter for a `header:` cohort. */
function requestWith(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

/** A pick context for a request from user `key` (no `key`: a request without a cohort key). */
function contextFor(key: string | undefined): PickContext {
  return { ...pickContext(), req: requestWith(key === undefined ? {} : { 'x-user': key }) } as PickContext;
}

describe('rollout arm split', () => {
  let t: TestPool;

  beforeEach(() => {
    t = testPool({ servers: [{ id: 'b1', url: 'http://127.0.0.1:1' }, { id: 'b2', url: 'http://127.0.0.1:2' }, { id: 'c1', url: 'http://127.0.0.1:3' }] });
  });

  afterEach(() => closeTestPools());

  function split(share: number, cohort = 'header:x-user'): ArmSplit {
    const made = new ArmSplit({ canary: ['c1'], cohort, keyFn: undefined, algorithm: t.pool.algorithm, algorithmName: 'round-robin', balanceFactor: 0, guard: new Guard(safeLogger(silentLogger)), poolName: 'api' });
    made.share = share;
    t.pool.useSplit(made);
    return made;
  }

  it('armOf: the canary ids are the canary, every other server the baseline', () => {
    const s = split(10);
    expect(['b1', 'b2', 'c1', 'unknown'].map((id) => s.armOf({ id } as never))).to.deep.equal(['baseline', 'baseline', 'canary', 'baseline']);
    expect(s.eligible('canary').map((server) => server.id)).to.deep.equal(['c1']);
    expect(s.eligible('baseline').map((server) => server.id)).to.deep.equal(['b1', 'b2']);
  });

  it('clamps the share to 0..100', () => {
    const s = split(10);
    s.share = 140;
    expect(s.share).to.equal(100);
    s.share = -3;
    expect(s.share).to.equal(0);
  });

  it("a user's cohort only grows with the share: nobody leaves the canary as it rises", () => {
    const s = split(0);
    const users = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const inCanaryAt = (share: number): Set<string> => {
      s.share = share;
      return new Set(users.filter((user) => s.armFor(contextFor(user)) === 'canary'));
    };
    let previous = new Set<string>();
    for (const share of [1, 5, 25, 50, 99.99, 100]) {
      const now = inCanaryAt(share);
      for (const user of previous) expect(now.has(user), `${user} left the canary at ${share}%`).to.equal(true);
      expect(now.size).to.be.at.least(previous.size);
      previous = now;
    }
    expect(previous.size).to.equal(users.length);
    expect(inCanaryAt(0).size).to.equal(0);
  });

  for (const share of [5, 25, 50]) {
    it(`measures close to the configured ${share}% over many keys, picks included`, () => {
      const s = split(share);
      const keys = 20_000;
      const hits: Record<string, number> = { b1: 0, b2: 0, c1: 0 };
      for (let i = 0; i < keys; i++) {
        const context = contextFor(`k-${i}`);
        const picked = t.pool.choose(context);
        if (!picked || picked === 'full') throw new Error('no pick');
        expect(s.armOf(picked), `key ${i}`).to.equal(s.armFor(context));
        hits[picked.id]!++;
      }
      expect((100 * hits.c1!) / keys).to.be.closeTo(share, 1);
      // the baseline's part is spread over both its servers by round-robin
      expect(Math.abs(hits.b1! - hits.b2!)).to.be.at.most(1);
    });
  }

  it('keeps a request in its arm once decided, and draws requests without a key by the share', () => {
    const s = split(30);
    const context = contextFor('same-user');
    const first = s.armFor(context);
    s.share = first === 'canary' ? 0 : 100;
    expect(s.armFor(context), 'decided once per request').to.equal(first);
    s.share = 30;
    const arms: Record<Arm, number> = { canary: 0, baseline: 0 };
    for (let i = 0; i < 20_000; i++) arms[s.armFor(contextFor(undefined))]++;
    expect(arms.canary / 20_000).to.be.closeTo(0.3, 0.02);
  });

  it('answers WHOLE_POOL when the arm has no eligible server', async () => {
    const s = split(100);
    await t.control.disable('c1');
    expect(s.eligible('canary')).to.deep.equal([]);
    expect(s.choose(contextFor('anyone'), Infinity, false)).to.equal(WHOLE_POOL);
    const picked = t.pool.choose(contextFor('anyone'));
    expect(picked && picked !== 'full' ? picked.id : picked).to.match(/^b/);
  });
});
