import { expect } from 'chai';
import type { AlgorithmName } from '../../../middleware/algorithms/algorithm.js';
import { ALGORITHMS } from '../../../middleware/algorithms/index.js';
import { ADDRESSES, byWeight, Driver, expectShares, seededRandom, servers, tally, type TestServer } from './candidates.js';

/** How requests behave in a row: short (end before the next), held (stay open), or keyed by client. */
type Traffic = 'short' | 'held' | 'keyed';

const rows: Array<[AlgorithmName, Traffic, (list: TestServer[]) => (server: TestServer) => number]> = [
  ['round-robin', 'short', (list) => () => 1 / list.length],
  ['weighted-round-robin', 'short', byWeight],
  ['least-connections', 'held', byWeight],
  ['p2c', 'held', byWeight],
  ['consistent-hash', 'keyed', byWeight],
  ['ip-hash', 'keyed', byWeight],
];

function driverFor(name: AlgorithmName, weights: number[]): Driver {
  return new Driver(ALGORITHMS[name]({ random: seededRandom(3) }), servers(weights));
}

function request(driver: Driver, traffic: Traffic, i: number, exclude?: Set<TestServer>): TestServer | undefined {
  const server = driver.pick({ clientAddress: ADDRESSES[i % ADDRESSES.length]!, exclude });
  if (server === undefined) return undefined;
  driver.hold(server);
  if (traffic !== 'held') driver.release(server);
  return server;
}

describe('algorithms: exclusion, for every built-in', () => {
  for (const [name, traffic, expected] of rows) {
    describe(name, () => {
      it('never returns an excluded server, and refuses when all are excluded', () => {
        const driver = driverFor(name, [3, 2, 1, 1]);
        const random = seededRandom(9);
        for (let i = 0; i < 10_000; i++) {
          const exclude = new Set(driver.members.filter(() => random() < 0.4));
          const server = request(driver, traffic, i, exclude);
          if (exclude.size === driver.members.length) expect(server).to.equal(undefined);
          else expect(exclude.has(server!), `pick ${i}`).to.equal(false);
        }
      });

      if (traffic === 'keyed') {
        it('passes an excluded server\'s keys on by weight, and leaves every other key where it was', () => {
          const driver = driverFor(name, [3, 2, 1, 1]);
          const [a, ...others] = driver.members;
          const exclude = new Set([a!]);
          const moved = new Map<string, number>();
          ADDRESSES.forEach((clientAddress) => {
            const usual = driver.pick({ clientAddress })!;
            const now = driver.pick({ clientAddress, exclude })!;
            if (usual !== a) expect(now).to.equal(usual);
            else moved.set(now.id, (moved.get(now.id) ?? 0) + 1);
          });
          expectShares(moved, others, byWeight(others));
        });
      } else {
        it('keeps shares right when every other pick excludes one server at random', () => {
          const driver = driverFor(name, [3, 2, 1, 1]);
          const random = seededRandom(5);
          const counts = tally(10_000, (i) => {
            const exclude = i % 2 === 1 ? new Set([driver.members[Math.floor(random() * 4)]!]) : undefined;
            return request(driver, traffic, i, exclude);
          });
          expectShares(counts, driver.members, expected(driver.members));
        });
      }
    });
  }
});
