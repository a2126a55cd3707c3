import { expect } from 'chai';
import { RoundRobin } from '../../../middleware/algorithms/round-robin.js';
import { context, Driver, expectShares, servers, tally } from './candidates.js';

describe('algorithms: round-robin', () => {
  const table: Array<[number[], string]> = [
    [[1, 1, 1], 'a b c a b c a'],
    [[5, 1, 1], 'a b c a b c a'], // weights are ignored
    [[1], 'a a a'],
  ];
  for (const [weights, expected] of table) {
    it(`weights ${weights.join(',')} give ${expected}`, () => {
      expect(new Driver(new RoundRobin(), servers(weights)).sequence(expected.split(' ').length)).to.equal(expected);
    });
  }

  it('keeps its place when the list changes size', () => {
    const algorithm = new RoundRobin();
    const list = servers([1, 1, 1]);
    algorithm.pick(list, context());
    algorithm.pick(list, context());
    expect([0, 1, 2].map(() => algorithm.pick(list.slice(0, 2), context())!.id).join(' ')).to.equal('a b a');
  });

  it('needs no update(): it walks the list it is given', () => {
    const algorithm = new RoundRobin();
    const list = servers([1, 1]);
    expect([algorithm.pick(list), algorithm.pick(list)].map((server) => server!.id)).to.deep.equal(['a', 'b']);
  });

  it('shares 10,000 picks evenly', () => {
    const list = servers([1, 1, 1, 1]);
    const driver = new Driver(new RoundRobin(), list);
    expectShares(tally(10_000, () => driver.request()), list, () => 0.25);
  });

  it('steps over excluded servers and goes on from the one it returned', () => {
    const list = servers([1, 1, 1, 1]);
    const driver = new Driver(new RoundRobin(), list);
    const [a, b, c] = list;
    expect(driver.pick()).to.equal(a);
    expect(driver.pick({ exclude: new Set([b!]) })).to.equal(c);
    expect(driver.pick()!.id).to.equal('d');
    expect(driver.pick()!.id).to.equal('a');
    expect(driver.pick({ exclude: new Set(list) }), 'all excluded').to.equal(undefined);
  });
});
