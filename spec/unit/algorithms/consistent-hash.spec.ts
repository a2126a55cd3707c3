import { expect } from 'chai';
import { MAX_WEIGHT } from '../../../middleware/algorithms/algorithm.js';
import { ConsistentHash } from '../../../middleware/algorithms/consistent-hash.js';
import { createIpHash } from '../../../middleware/algorithms/ip-hash.js';
import { viewOf } from '../../../middleware/algorithms/view.js';
import { ADDRESSES, byWeight, context, Driver, expectShares, seededRandom, servers, tally, type TestServer } from './candidates.js';

/** Which server each address goes to, with no load on any. */
function owners(driver: Driver): string[] {
  return ADDRESSES.map((clientAddress) => driver.pick({ clientAddress })!.id);
}

const unbounded = (): ConsistentHash => new ConsistentHash({ balanceFactor: Infinity });
const bounded = (): ConsistentHash => new ConsistentHash({ balanceFactor: 1.25 });

describe('algorithms: consistent-hash', () => {
  it('sends the same key to the same server', () => {
    const driver = new Driver(unbounded(), servers([1, 1, 1]));
    const first = driver.pick({ clientAddress: '203.0.113.7' });
    for (let i = 0; i < 20; i++) expect(driver.pick({ clientAddress: '203.0.113.7' })).to.equal(first);
  });

  it('hashes context.hashKey when there is one, else the client address', () => {
    const driver = new Driver(unbounded(), servers(new Array(10).fill(1)));
    const byKey = new Set(ADDRESSES.slice(0, 200).map((clientAddress) => driver.pick({ clientAddress, hashKey: 'user-42' })!.id));
    expect(byKey.size).to.equal(1);
    expect(driver.pick({ clientAddress: 'user-42' })).to.equal(driver.pick({ clientAddress: '10.9.9.9', hashKey: 'user-42' }));
  });

  for (const weights of [new Array(10).fill(1), [3, 1], [5, 3, 2], [8, 4, 2, 1, 1]]) {
    it(`spreads 10,000 addresses by configured weight, within 2 points (${weights.join(',')})`, () => {
      const list = servers(weights);
      const driver = new Driver(unbounded(), list);
      expectShares(tally(10_000, (i) => driver.pick({ clientAddress: ADDRESSES[i]! })), list, byWeight(list));
    });
  }

  it('uses configured weights, not slow start\'s: a ramping server keeps its clients', () => {
    const list = servers([1, 1, 1]);
    const driver = new Driver(unbounded(), list);
    const before = owners(driver);
    list[2]!.ramp = 0.1;
    driver.setEligible();
    expect(owners(driver)).to.deep.equal(before);
  });

  it('moves about 1/N of keys, all from the removed server, when one of 10 members leaves', () => {
    const list = servers(new Array(10).fill(1));
    const algorithm = unbounded();
    const driver = new Driver(algorithm, list);
    const before = owners(driver);
    const rest = list.slice(1);
    algorithm.update(viewOf(rest), 'members');
    const after = ADDRESSES.map((clientAddress) => algorithm.pick(rest, context({ clientAddress }))!.id);
    const moved = before.filter((id, i) => id !== after[i]);
    const movedFromOthers = moved.filter((id) => id !== 'a').length;
    expect(moved.length / ADDRESSES.length).to.be.within(0.07, 0.13);
    expect(movedFromOthers, 'only a\'s clients move').to.equal(0);
  });

  it('does not rebuild on an eligibility change; other servers\' clients stay, the out server\'s come back', () => {
    const list = servers(new Array(10).fill(1));
    const algorithm = unbounded();
    const driver = new Driver(algorithm, list);
    const before = owners(driver);
    expect(algorithm.builds).to.equal(1);
    driver.setEligible(list.filter((server) => server.id !== 'c'));
    const during = owners(driver);
    expect(algorithm.builds, 'no rebuild').to.equal(1);
    before.forEach((id, i) => {
      if (id === 'c') expect(during[i]).to.not.equal('c');
      else expect(during[i], 'others keep their clients').to.equal(id);
    });
    driver.setEligible(list);
    expect(owners(driver)).to.deep.equal(before);
    expect(algorithm.builds).to.equal(1);
  });

  it('rebuilds on update(\'members\') only when ids or weights changed', () => {
    const list = servers([1, 1, 1]);
    const algorithm = unbounded();
    algorithm.update(viewOf(list), 'members');
    algorithm.update(viewOf(list.slice()), 'members');
    expect(algorithm.builds).to.equal(1);
    list[0]!.weight = 2;
    algorithm.update(viewOf(list), 'members');
    expect(algorithm.builds).to.equal(2);
  });

  it('builds quickly whatever the weights: 1,000 members, one at MAX_WEIGHT, and a weight of 2^53', () => {
    const list = servers(new Array(1_000).fill(1));
    list[0]!.weight = MAX_WEIGHT;
    list[1]!.weight = 2 ** 53; // bounded to MAX_WEIGHT by the ring
    const started = process.hrtime.bigint();
    const driver = new Driver(new ConsistentHash(), list);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(ms, 'generous for a loaded machine: the benchmark has the real figure').to.be.below(1_000);
    expect(driver.pick({ clientAddress: '203.0.113.7' })).to.not.equal(undefined);
  });

  it('never returns an excluded server: the key falls through to the next on the ring', () => {
    const list = servers(new Array(5).fill(1));
    const driver = new Driver(unbounded(), list);
    for (const clientAddress of ADDRESSES.slice(0, 500)) {
      const usual = driver.pick({ clientAddress })!;
      const other = driver.pick({ clientAddress, exclude: new Set([usual]) })!;
      expect(other).to.not.equal(usual);
      expect(driver.pick({ clientAddress, exclude: new Set([usual]) }), 'the same fall-through every time').to.equal(other);
    }
    expect(driver.pick({ exclude: new Set(list) })).to.equal(undefined);
  });

  describe('bounded loads (c = 1.25)', () => {
    // 90% of requests on 3 keys, the rest spread
    function skewedKey(random: () => number): string {
      const r = random();
      return r < 0.9 ? `hot-${Math.floor(r * 10 / 3)}` : `cold-${Math.floor(random() * 10_000)}`;
    }

    it('no server ever holds more than ceil(c * average) while requests are held open', () => {
      const list = servers(new Array(10).fill(1));
      const driver = new Driver(bounded(), list);
      const random = seededRandom(7);
      for (let total = 1; total <= 2_000; total++) {
        driver.hold(driver.pick({ clientAddress: skewedKey(random) })!);
        const bound = Math.ceil((1.25 * total) / list.length);
        const busiest = Math.max(...list.map((server) => server.active));
        expect(busiest, `${total} held`).to.be.at.most(bound);
      }
    });

    it('keeps each pick within its bound while requests come and go', () => {
      const list = servers(new Array(10).fill(1));
      const driver = new Driver(bounded(), list);
      const random = seededRandom(11);
      const open: TestServer[] = [];
      for (let i = 0; i < 20_000; i++) {
        if (open.length > 0 && random() < 0.48) driver.release(open.splice(Math.floor(random() * open.length), 1)[0]!);
        const server = driver.hold(driver.pick({ clientAddress: skewedKey(random) })!);
        open.push(server);
        expect(server.active).to.be.at.most(Math.ceil((1.25 * open.length) / list.length));
      }
    });

    it('weighs the bound: capacity ceil(c * (total + 1) * weight / totalWeight)', () => {
      const list = servers([4, 2, 1, 1]);
      const driver = new Driver(bounded(), list);
      const random = seededRandom(5);
      for (let total = 1; total <= 2_000; total++) {
        driver.hold(driver.pick({ clientAddress: skewedKey(random) })!);
        for (const server of list) expect(server.active, server.id).to.be.at.most(Math.ceil((1.25 * total * server.weight) / 8));
      }
    });

    it('lets a ramping server overflow sooner: the bound uses effective weight', () => {
      const list = servers([1, 1, 1, 1]);
      list[0]!.ramp = 0.1;
      const driver = new Driver(bounded(), list);
      for (let i = 0; i < 1_000; i++) driver.hold(driver.pick({ clientAddress: 'one-key' })!);
      expect(list[0]!.active).to.be.at.most(Math.ceil((1.25 * 1_000 * 0.1) / 3.1));
    });

    it('without the bound (ip-hash) the same skew piles up on the hot keys\' servers', () => {
      const list = servers(new Array(10).fill(1));
      const driver = new Driver(unbounded(), list);
      const random = seededRandom(7);
      for (let i = 0; i < 2_000; i++) driver.hold(driver.pick({ clientAddress: skewedKey(random) })!);
      expect(Math.max(...list.map((server) => server.active))).to.be.above(Math.ceil((1.25 * 2_000) / 10));
    });
  });
});

describe('algorithms: ip-hash', () => {
  it('is consistent hashing without the load bound, named ip-hash', () => {
    const algorithm = createIpHash();
    expect(algorithm.name).to.equal('ip-hash');
    const driver = new Driver(algorithm, servers([1, 1, 1]));
    const first = driver.pick({ clientAddress: '203.0.113.7' })!;
    for (let i = 0; i < 50; i++) driver.hold(first);
    expect(driver.pick({ clientAddress: '203.0.113.7' }), 'no bound: still the same server').to.equal(first);
  });

  it('rejects a balance factor below 1', () => {
    expect(() => new ConsistentHash({ balanceFactor: 0.5 })).to.throw(RangeError, /balanceFactor/);
    expect(() => new ConsistentHash({ balanceFactor: Number.NaN })).to.throw(RangeError);
  });
});
