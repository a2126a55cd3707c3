import { expect } from 'chai';
import type { Algorithm, Candidate, PickContext } from '../../../middleware/algorithms/algorithm.js';
import { IpHash } from '../../../middleware/algorithms/ip-hash.js';
import { LeastConnections } from '../../../middleware/algorithms/least-connections.js';
import { RoundRobin } from '../../../middleware/algorithms/round-robin.js';
import { WeightedRoundRobin } from '../../../middleware/algorithms/weighted-round-robin.js';

/** An algorithm's input: a server as it sees one. */
class TestServer implements Candidate {
  active = 0;
  constructor(readonly id: string, readonly weight = 1) {}
  effectiveWeight(): number {
    return this.weight;
  }
}

function context(clientAddress = '127.0.0.1'): PickContext {
  return { clientAddress, method: 'GET', path: '/', headers: {}, now: Date.now() };
}

function servers(weights: number[]): TestServer[] {
  return weights.map((weight, i) => new TestServer(String.fromCharCode(97 + i), weight));
}

function sequence(algorithm: Algorithm, list: TestServer[], count: number): string {
  return Array.from({ length: count }, () => algorithm.pick(list, context())!.id).join(' ');
}

/** Every server's share of `picks` is within 2 percentage points of its expected share. */
function expectShares(counts: Map<string, number>, list: TestServer[], picks: number, expected: (s: TestServer) => number): void {
  for (const server of list) {
    const share = (counts.get(server.id) ?? 0) / picks;
    expect(Math.abs(share - expected(server)), `${server.id}: ${(share * 100).toFixed(2)}% vs ${(expected(server) * 100).toFixed(2)}%`).to.be.below(0.02);
  }
}

function tally(pick: () => Candidate): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const id = pick().id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('algorithms', () => {
  describe('round-robin', () => {
    it('takes each server in turn', () => expect(sequence(new RoundRobin(), servers([1, 1, 1]), 7)).to.equal('a b c a b c a'));
    it('keeps its place when the list changes size', () => {
      const algorithm = new RoundRobin();
      const list = servers([1, 1, 1]);
      sequence(algorithm, list, 2);
      expect(sequence(algorithm, list.slice(0, 2), 3)).to.equal('a b a');
    });
    it('shares 10,000 picks evenly', () => {
      const list = servers([1, 1, 1, 1]);
      const algorithm = new RoundRobin();
      expectShares(tally(() => algorithm.pick(list)!), list, 10_000, () => 0.25);
    });
  });

  describe('weighted-round-robin (smooth)', () => {
    const table: Array<[number[], string]> = [
      [[5, 1, 1], 'a a b a c a a'],
      [[1, 1, 1], 'a b c a b c'],
      [[2, 1], 'a b a a b a'],
      [[3, 0.5, 0.5], 'a a b a a c a a'],
    ];
    for (const [weights, expected] of table) {
      it(`weights ${weights.join(',')} give ${expected}`, () => {
        expect(sequence(new WeightedRoundRobin(), servers(weights), expected.split(' ').length)).to.equal(expected);
      });
    }
    it('shares 10,000 picks by weight (5,3,2)', () => {
      const list = servers([5, 3, 2]);
      const algorithm = new WeightedRoundRobin();
      expectShares(tally(() => algorithm.pick(list, context())!), list, 10_000, (s) => s.weight / 10);
    });
  });

  describe('least-connections', () => {
    it('picks the server with the fewest in flight', () => {
      const list = servers([1, 1, 1]);
      list[0]!.active = 4;
      list[1]!.active = 1;
      list[2]!.active = 3;
      expect(new LeastConnections().pick(list, context())!.id).to.equal('b');
    });
    it('weighs connections by weight', () => {
      const list = servers([4, 1]);
      list[0]!.active = 6; // (6+1)/4 = 1.75
      list[1]!.active = 1; // (1+1)/1 = 2
      expect(new LeastConnections().pick(list, context())!.id).to.equal('a');
    });
    it('breaks ties in rotation, so equal servers share', () => {
      expect(sequence(new LeastConnections(), servers([1, 1, 1]), 6)).to.equal('a b c a b c');
    });
    it('shares 10,000 short requests evenly', () => {
      const list = servers([1, 1, 1]);
      const algorithm = new LeastConnections();
      expectShares(tally(() => algorithm.pick(list, context())!), list, 10_000, () => 1 / 3);
    });
    it('spreads 10,000 long-lived connections by weight (3,1)', () => {
      const list = servers([3, 1]);
      const algorithm = new LeastConnections();
      const counts = tally(() => {
        const server = algorithm.pick(list, context())!;
        (server as TestServer).active++; // they stay open
        return server;
      });
      expectShares(counts, list, 10_000, (s) => s.weight / 4);
    });
  });

  describe('ip-hash', () => {
    const addresses = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

    it('sends the same address to the same server', () => {
      const algorithm = new IpHash();
      const list = servers([1, 1, 1]);
      const first = algorithm.pick(list, context('203.0.113.7'))!.id;
      for (let i = 0; i < 20; i++) expect(algorithm.pick(list, context('203.0.113.7'))!.id).to.equal(first);
    });

    it('spreads 10,000 addresses within 2 points of an even share over 10 servers', () => {
      const algorithm = new IpHash();
      const list = servers(new Array(10).fill(1));
      let i = 0;
      expectShares(tally(() => algorithm.pick(list, context(addresses[i++]!))!), list, 10_000, () => 0.1);
    });

    it('moves only the removed server\'s clients when one of 10 leaves (under 15%)', () => {
      const algorithm = new IpHash();
      const list = servers(new Array(10).fill(1));
      const before = addresses.map((address) => algorithm.pick(list, context(address))!.id);
      const withoutA = list.slice(1); // one array: the eligible set changes once, as in a pool
      const after = addresses.map((address) => algorithm.pick(withoutA, context(address))!.id);
      let moved = 0;
      before.forEach((id, i) => {
        if (id !== after[i]) {
          moved++;
          expect(id, 'only clients of the removed server move').to.equal('a');
        }
      });
      expect(moved / addresses.length).to.be.below(0.15).and.above(0.05);
    });

    it('follows configured weights', () => {
      const algorithm = new IpHash();
      const list = servers([3, 1]);
      let i = 0;
      expectShares(tally(() => algorithm.pick(list, context(addresses[i++]!))!), list, 10_000, (s) => s.weight / 4);
    });
  });
});
