import { expect } from 'chai';
import { LeastConnections } from '../../../middleware/algorithms/least-connections.js';
import { byWeight, Driver, expectShares, servers, tally } from './candidates.js';

describe('algorithms: least-connections', () => {
  const table: Array<[string, number[], number[], string]> = [
    ['picks the server with the fewest in flight', [1, 1, 1], [4, 1, 3], 'b'],
    ['weighs connections by weight: (6+1)/4 beats (1+1)/1', [4, 1], [6, 1], 'a'],
    ['scores (active + 1) / weight: an idle light server loses to a busier heavy one', [1, 3], [0, 1], 'b'],
  ];
  for (const [title, weights, actives, expected] of table) {
    it(title, () => {
      const list = servers(weights);
      list.forEach((server, i) => (server.active = actives[i]!));
      expect(new Driver(new LeastConnections(), list).pick()!.id).to.equal(expected);
    });
  }

  it('follows acquired/released as requests start and end', () => {
    const driver = new Driver(new LeastConnections(), servers([1, 1, 1]));
    const [a, b, c] = driver.members;
    driver.hold(a!);
    driver.hold(a!);
    driver.hold(b!);
    expect(driver.pick()).to.equal(c);
    driver.hold(c!);
    driver.hold(c!);
    driver.release(a!);
    driver.release(a!);
    expect(driver.pick()).to.equal(a);
  });

  it('breaks ties in rotation, so equal servers share', () => {
    expect(new Driver(new LeastConnections(), servers([1, 1, 1])).sequence(6)).to.equal('a b c a b c');
  });

  it('shares 10,000 short requests evenly', () => {
    const list = servers([1, 1, 1]);
    const driver = new Driver(new LeastConnections(), list);
    expectShares(tally(10_000, () => driver.request()), list, () => 1 / 3);
  });

  for (const weights of [[3, 1], [5, 3, 2], [1, 1, 1, 1]]) {
    it(`spreads 10,000 long-lived connections by weight (${weights.join(',')})`, () => {
      const list = servers(weights);
      const driver = new Driver(new LeastConnections(), list);
      expectShares(tally(10_000, () => driver.hold(driver.pick()!)), list, byWeight(list));
    });
  }

  it('lowers a ramping server\'s share, and refreshes it on update(\'eligibility\')', () => {
    const list = servers([1, 1]);
    list[1]!.ramp = 0.25;
    const driver = new Driver(new LeastConnections(), list);
    expectShares(tally(5_000, () => driver.hold(driver.pick()!)), list, byWeight(list));
    list[1]!.ramp = 1;
    driver.setEligible();
    // now level: b takes the new connections until it has caught up with a
    const next = tally(3_000, () => driver.hold(driver.pick()!));
    expect(next.get('b')).to.be.closeTo(3_000, 100);
  });

  it('never returns an excluded server and leaves the order intact', () => {
    const driver = new Driver(new LeastConnections(), servers([1, 1, 1]));
    const [a, b, c] = driver.members;
    driver.hold(b!);
    driver.hold(c!);
    driver.hold(c!);
    expect(driver.pick({ exclude: new Set([a!]) })).to.equal(b);
    expect(driver.pick({ exclude: new Set([a!, b!]) })).to.equal(c);
    expect(driver.pick({ exclude: new Set([a!, b!, c!]) })).to.equal(undefined);
    expect(driver.pick()).to.equal(a);
  });
});
