import { expect } from 'chai';
import { PowerOfTwoChoices } from '../../../middleware/algorithms/p2c.js';
import { byWeight, Driver, expectShares, seededRandom, servers, tally } from './candidates.js';

function p2c(seed = 1): PowerOfTwoChoices {
  return new PowerOfTwoChoices({ random: seededRandom(seed) });
}

describe('algorithms: p2c (power of two choices, weighted)', () => {
  it('compares two distinct servers: of two, the less loaded always wins', () => {
    const driver = new Driver(p2c(), servers([1, 1]));
    driver.members[0]!.active = 3;
    const counts = tally(1_000, () => driver.pick());
    expect(counts.get('b')).to.equal(1_000);
  });

  it('scores (active + 1) / effective weight', () => {
    const driver = new Driver(p2c(), servers([4, 1]));
    driver.members[0]!.active = 6; // 7/4 against 2/1
    driver.members[1]!.active = 1;
    expect(tally(100, () => driver.pick()).get('a')).to.equal(100);
  });

  it('never picks the most loaded server: two distinct servers are compared', () => {
    const driver = new Driver(p2c(), servers([1, 1, 1, 1, 1]));
    driver.members[4]!.active = 100;
    expect(tally(2_000, () => driver.pick()).has('e')).to.equal(false);
  });

  it('shares 10,000 short requests evenly among equal servers', () => {
    const list = servers([1, 1, 1, 1]);
    const driver = new Driver(p2c(), list);
    expectShares(tally(10_000, () => driver.request()), list, () => 0.25);
  });

  for (const weights of [[3, 1, 1, 1], [1, 1, 1, 1], [5, 3, 2], [8, 4, 2, 1, 1]]) {
    it(`spreads 10,000 long-lived connections by weight (${weights.join(',')})`, () => {
      const list = servers(weights);
      const driver = new Driver(p2c(), list);
      expectShares(tally(10_000, () => driver.hold(driver.pick()!)), list, byWeight(list));
    });
  }

  it('lowers a ramping server\'s share in slow start', () => {
    const list = servers([1, 1, 1, 1]);
    list[3]!.ramp = 0.25;
    const driver = new Driver(p2c(), list);
    expectShares(tally(10_000, () => driver.hold(driver.pick()!)), list, byWeight(list));
  });

  it('gives a tie to the first drawn: idle equal servers share evenly', () => {
    const list = servers([1, 1, 1, 1]);
    const driver = new Driver(p2c(3), list);
    expectShares(tally(10_000, () => driver.pick()), list, () => 0.25);
  });

  it('finds a distinct second candidate when one server holds nearly all the weight', () => {
    const list = servers([256, 1, 1]);
    const driver = new Driver(p2c(), list);
    list[0]!.active = 1_000;
    // a is drawn first almost always; the second must be b or c, and wins
    const counts = tally(1_000, () => driver.pick());
    expect(counts.get('a') ?? 0).to.equal(0);
  });

  it('never returns an excluded server, down to the last one allowed', () => {
    const list = servers([5, 1, 1, 1, 1, 1]);
    const driver = new Driver(p2c(), list);
    const exclude = new Set(list.slice(0, 5));
    expect(tally(1_000, () => driver.pick({ exclude })).get('f')).to.equal(1_000);
    expect(driver.pick({ exclude: new Set(list) })).to.equal(undefined);
  });
});
