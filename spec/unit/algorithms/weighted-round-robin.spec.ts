import { expect } from 'chai';
import { viewOf } from '../../../middleware/algorithms/view.js';
import { WeightedRoundRobin } from '../../../middleware/algorithms/weighted-round-robin.js';
import { byWeight, context, Driver, expectShares, servers, tally, type TestServer } from './candidates.js';

function longestRun(sequence: string, id: string): number {
  let longest = 0;
  let run = 0;
  for (const pick of sequence.split(' ')) {
    run = pick === id ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

describe('algorithms: weighted-round-robin (smooth, earliest deadline first)', () => {
  const table: Array<[number[], string]> = [
    [[5, 1, 1], 'a a a b a a c a a a b a a c'],
    [[1, 1, 1], 'a b c a b c'],
    [[2, 1], 'a a b a a b'],
    [[3, 0.5, 0.5], 'a a a b a a c a a a a b a a c a'],
    [[5, 3, 2], 'a b a c a b a a b c'],
  ];
  for (const [weights, expected] of table) {
    it(`weights ${weights.join(',')} give ${expected}`, () => {
      expect(new Driver(new WeightedRoundRobin(), servers(weights)).sequence(expected.split(' ').length)).to.equal(expected);
    });
  }

  it('spreads a heavy server\'s turns between the light ones\' (5,1,1: never more than 3 in a row)', () => {
    const sequence = new Driver(new WeightedRoundRobin(), servers([5, 1, 1])).sequence(700);
    expect(longestRun(sequence, 'a')).to.equal(3);
  });

  const shares: number[][] = [[5, 3, 2], [1, 1, 1, 1], [256, 1, 1], [7, 0.5, 2.5, 1]];
  for (const weights of shares) {
    it(`shares 10,000 picks by weight (${weights.join(',')})`, () => {
      const list = servers(weights);
      const driver = new Driver(new WeightedRoundRobin(), list);
      expectShares(tally(10_000, () => driver.request()), list, byWeight(list));
    });
  }

  // A retry never repeats its first pick, so with a retry every other request a server can
  // have at most 2 of every 3 picks: 5,1,1 then gets the closest shares it can, 2/3, 1/6, 1/6.
  const retries: Array<[number[], number, number[]]> = [
    [[5, 3, 2], 2, [0.5, 0.3, 0.2]],
    [[5, 1, 1], 2, [2 / 3, 1 / 6, 1 / 6]],
    [[5, 1, 1], 5, [5 / 7, 1 / 7, 1 / 7]],
    [[1, 1, 1], 2, [1 / 3, 1 / 3, 1 / 3]],
  ];
  for (const [weights, every, expected] of retries) {
    it(`shares picks ${expected.map((share) => share.toFixed(3)).join(':')} for weights ${weights.join(',')} with a retry every ${every} requests, excluding the first pick`, () => {
      const list = servers(weights);
      const driver = new Driver(new WeightedRoundRobin(), list);
      const picks: TestServer[] = [];
      for (let i = 0; i < 7_000; i++) {
        const first = driver.request();
        picks.push(first);
        if (i % every !== every - 1) continue;
        const retry = driver.request({ exclude: new Set([first]) });
        expect(retry).to.not.equal(first);
        picks.push(retry);
      }
      expectShares(tally(picks.length, (i) => picks[i]), list, (server) => expected[list.indexOf(server)]!);
    });
  }

  it('leaves the schedule as if an excluded server were out for that one pick', () => {
    const driver = new Driver(new WeightedRoundRobin(), servers([1, 1, 1]));
    const [a, b] = driver.members;
    expect(driver.pick()).to.equal(a);
    // b is due next; excluded, c goes instead and b keeps its turn for the pick after
    expect(driver.pick({ exclude: new Set([b!]) })!.id).to.equal('c');
    expect(driver.sequence(4)).to.equal('b a b c');
    expect(driver.pick({ exclude: new Set(driver.members) }), 'all excluded').to.equal(undefined);
  });

  it('keeps the others\' credit across an eligibility change, and gives no burst to a returning server', () => {
    const list = servers([1, 1, 1, 1]);
    const driver = new Driver(new WeightedRoundRobin(), list);
    expect(driver.sequence(2)).to.equal('a b');
    driver.setEligible(list.slice(0, 3));
    expect(driver.sequence(4), 'the rotation goes on, not back to a').to.equal('c a b c');
    driver.setEligible(list);
    const next = driver.sequence(8).split(' ');
    for (const server of list) expect(next.filter((id) => id === server.id), server.id).to.have.length(2);
  });

  it('keeps credit even when handed a filtered list instead of exclude (the slow path)', () => {
    const list = servers([5, 1, 1]);
    const algorithm = new WeightedRoundRobin();
    algorithm.update(viewOf(list), 'members');
    const counts = tally(7_000, (i) => {
      const first = algorithm.pick(list, context())!;
      return i % 2 === 1 ? algorithm.pick(list.filter((server) => server !== first), context()) : first;
    });
    expect(counts.get('b'), 'not only a').to.be.above(1_000);
    expect(counts.get('c')).to.be.above(1_000);
  });

  it('lowers a server\'s share while it ramps up in slow start', () => {
    const list = servers([1, 1, 1]);
    list[2]!.ramp = 0.25;
    const driver = new Driver(new WeightedRoundRobin(), list);
    expectShares(tally(10_000, () => driver.request()), list, byWeight(list));
  });

  it('reschedules a ramping server when its effective weight rises', () => {
    const list = servers([1, 1, 1]);
    list[2]!.ramp = 0.01; // its first turn is a hundred rounds away
    const driver = new Driver(new WeightedRoundRobin(), list);
    driver.sequence(3);
    list[2]!.ramp = 1;
    driver.setEligible();
    expect(driver.sequence(6).split(' ').filter((id) => id === 'c')).to.have.length(2);
  });

  it('forgets removed members', () => {
    const list = servers([1, 1, 1]);
    const algorithm = new WeightedRoundRobin();
    algorithm.update(viewOf(list), 'members');
    const rest = list.slice(1);
    algorithm.update(viewOf(rest), 'members');
    expect(tally(100, () => algorithm.pick(rest, context())).has('a')).to.equal(false);
  });
});
