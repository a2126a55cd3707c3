import { expect } from 'chai';
import { AliasTable } from '../../../middleware/algorithms/alias-table.js';
import { hash32, mix32 } from '../../../middleware/algorithms/hash.js';
import { IndexedHeap, type HeapEntry } from '../../../middleware/algorithms/indexed-heap.js';
import { buildRing } from '../../../middleware/algorithms/ring.js';
import { seededRandom } from './candidates.js';

interface Item extends HeapEntry {
  key: number;
  id: number;
}

describe('algorithms: structures', () => {
  describe('IndexedHeap', () => {
    const before = (a: Item, b: Item): boolean => a.key < b.key || (a.key === b.key && a.id < b.id);
    const smallest = (items: Item[]): Item | undefined => [...items].sort((a, b) => (before(a, b) ? -1 : 1))[0];

    it('agrees with a sorted list over 5,000 random pushes, removals and key changes', () => {
      const random = seededRandom(1);
      const heap = new IndexedHeap<Item>(before);
      const inside: Item[] = [];
      for (let step = 0; step < 5_000; step++) {
        const action = random();
        if (action < 0.4 || inside.length === 0) {
          const item = { key: Math.floor(random() * 50), id: step, heapIndex: -1 };
          heap.push(item);
          inside.push(item);
        } else if (action < 0.6) {
          const item = inside.splice(Math.floor(random() * inside.length), 1)[0]!;
          heap.remove(item);
          expect(heap.has(item)).to.equal(false);
        } else {
          const item = inside[Math.floor(random() * inside.length)]!;
          item.key = Math.floor(random() * 50);
          heap.changed(item);
        }
        expect(heap.peek()).to.equal(smallest(inside));
        expect(heap.size).to.equal(inside.length);
      }
    });

    it('rebuild() heapifies, and first() skips entries without disturbing the heap', () => {
      const items = [5, 3, 8, 1, 9, 2].map((key, id) => ({ key, id, heapIndex: -1 }));
      const heap = new IndexedHeap<Item>(before);
      heap.rebuild(items);
      expect(heap.peek()!.key).to.equal(1);
      expect(heap.first((item) => item.key < 3)!.key).to.equal(3);
      expect(heap.first(() => true)).to.equal(undefined);
      expect(heap.size).to.equal(6);
      const order: number[] = [];
      for (let item = heap.pop(); item; item = heap.pop()) order.push(item.key);
      expect(order).to.deep.equal([1, 2, 3, 5, 8, 9]);
    });
  });

  describe('AliasTable', () => {
    const table: number[][] = [[1, 1, 1, 1], [5, 3, 2], [256, 1, 1], [0, 1, 3], [0.5, 7, 2.5, 1]];
    for (const weights of table) {
      it(`draws in proportion to weights ${weights.join(',')}, within half a point over 100,000 draws`, () => {
        const alias = new AliasTable(weights);
        const random = seededRandom(2);
        const counts = new Array<number>(weights.length).fill(0);
        for (let i = 0; i < 100_000; i++) counts[alias.draw(random())]!++;
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        weights.forEach((weight, i) => expect(counts[i]! / 100_000).to.be.closeTo(weight / total, 0.005));
      });
    }
  });

  describe('ring lookup', () => {
    for (const count of [1, 3, 37, 1_000]) {
      it(`finds the first point at or after a hash, wrapping round, as a scan does (${count} members)`, () => {
        const ring = buildRing(Array.from({ length: count }, (_, i) => `m${i}`), Float64Array.from({ length: count }, (_, i) => (i % 7) + 1));
        const random = seededRandom(count);
        const hashes = [0, 2 ** 32 - 1, ring.points[0]!, ring.points[ring.points.length - 1]!, ...Array.from({ length: 2_000 }, () => Math.floor(random() * 2 ** 32))];
        for (const hash of hashes) {
          const scanned = ring.points.findIndex((point) => point >= hash);
          expect(ring.start(hash), `hash ${hash}`).to.equal(scanned === -1 ? 0 : scanned);
        }
        for (let i = 1; i < ring.points.length; i++) expect(ring.points[i - 1]! <= ring.points[i]!).to.equal(true);
      });
    }
  });

  describe('hash32', () => {
    it('is FNV-1a with murmur3\'s finaliser', () => {
      expect(hash32('')).to.equal(mix32(0x811c9dc5));
      expect(hash32('203.0.113.7')).to.equal(0x143e3986);
    });

    it('spreads near keys over the top bits', () => {
      const buckets = new Array<number>(16).fill(0);
      for (let i = 0; i < 16_000; i++) buckets[hash32(`10.0.${i >> 8}.${i & 255}`) >>> 28]!++;
      for (const count of buckets) expect(count).to.be.within(850, 1_150);
    });
  });
});
