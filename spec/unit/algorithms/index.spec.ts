import { expect } from 'chai';
import { ALGORITHMS, isAlgorithmName } from '../../../middleware/algorithms/index.js';

describe('algorithms: the built-in table', () => {
  const names = ['round-robin', 'weighted-round-robin', 'least-connections', 'ip-hash', 'p2c', 'consistent-hash'] as const;

  it('has every built-in, each a fresh instance under its own name', () => {
    expect(Object.keys(ALGORITHMS).sort()).to.deep.equal([...names].sort());
    for (const name of names) {
      expect(ALGORITHMS[name]().name).to.equal(name);
      expect(ALGORITHMS[name]()).to.not.equal(ALGORITHMS[name]());
    }
  });

  it('tells names from other values', () => {
    for (const name of names) expect(isAlgorithmName(name)).to.equal(true);
    for (const other of ['random', 'toString', '__proto__', 42, undefined]) expect(isAlgorithmName(other)).to.equal(false);
  });

  it('passes options on: balanceFactor is checked, random is used', () => {
    expect(() => ALGORITHMS['consistent-hash']({ balanceFactor: 0.9 })).to.throw(RangeError);
    let calls = 0;
    const p2c = ALGORITHMS.p2c({ random: () => (calls++, 0.5) });
    const list = [{ id: 'a', weight: 1, active: 0, effectiveWeight: () => 1 }, { id: 'b', weight: 1, active: 0, effectiveWeight: () => 1 }];
    p2c.pick(list, { clientAddress: '127.0.0.1', now: 0 });
    expect(calls).to.be.above(0);
  });
});
