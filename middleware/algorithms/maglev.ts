import { hash32 } from './hash.js';
import type { HashTable } from './hash-table.js';
import { IndexedHeap, type HeapEntry } from './indexed-heap.js';

/** Slots per member: Maglev's paper keeps the table over 100x the members for even shares. */
const SLOTS_PER_MEMBER = 100;
/** Table sizes go up in powers of two (the next prime above), so that adding or removing a
 *  few members keeps the size: a new size reshuffles every key. 2^16 is about Envoy's default. */
const MIN_SLOTS_BITS = 16;
const MAX_SLOTS_BITS = 21;
/** A second, independent hash of the id gives each member its stride. */
const SKIP_SEED = 0x3c6ef372;

interface Filler extends HeapEntry {
  readonly owner: number;
  readonly skip: number;
  /** Where its permutation goes on. */
  position: number;
  /** Its next turn to take a slot, in units of 1 / weight. */
  due: number;
}

/**
 * Maglev hashing (Eisenbud et al., NSDI 2016), weighted as Envoy does: a lookup table of
 * prime size M; each member walks its own permutation `offset + k * skip (mod M)` and takes
 * the first free slot in turn, heavier members more often, until the table is full. A key
 * goes to `table[hash mod M]`, O(1). Removal moves the removed member's keys and, unlike a
 * ring, a few others' too.
 */
export function buildMaglev(ids: readonly string[], weights: Float64Array): HashTable {
  const fillers: Filler[] = [];
  let weighted = 0;
  let firstWeight = 0;
  for (const weight of weights) {
    if (weight <= 0) continue;
    weighted++;
    firstWeight ||= weight;
  }
  const bits = Math.min(MAX_SLOTS_BITS, Math.max(MIN_SLOTS_BITS, Math.ceil(Math.log2(weighted * SLOTS_PER_MEMBER))));
  const size = nextPrime(2 ** bits);
  ids.forEach((id, owner) => {
    const weight = weights[owner]!;
    if (weight <= 0) return;
    const position = hash32(id) % size;
    const skip = (hash32(id, SKIP_SEED) % (size - 1)) + 1;
    fillers.push({ owner, skip, position, due: 1 / weight, heapIndex: -1 });
  });
  const owners = new Int32Array(size).fill(-1);
  if (fillers.length === 0) return { owners: new Int32Array(0), start: () => 0 };
  const take = (filler: Filler): void => {
    let slot = filler.position;
    while (owners[slot] !== -1) {
      slot += filler.skip;
      if (slot >= size) slot -= size;
    }
    owners[slot] = filler.owner;
    slot += filler.skip;
    filler.position = slot >= size ? slot - size : slot;
  };
  let filled = 0;
  if (weights.every((weight) => weight <= 0 || weight === firstWeight)) {
    // equal weights: plain rotation, as in the paper
    for (;;) for (const filler of fillers) {
      take(filler);
      if (++filled === size) return lookup(owners, size);
    }
  }
  const heap = new IndexedHeap<Filler>((a, b) => a.due < b.due || (a.due === b.due && a.owner < b.owner));
  heap.rebuild(fillers);
  for (; filled < size; filled++) {
    const filler = heap.peek()!;
    take(filler);
    filler.due += 1 / weights[filler.owner]!;
    heap.changed(filler);
  }
  return lookup(owners, size);
}

function lookup(owners: Int32Array, size: number): HashTable {
  return { owners, start: (hash) => hash % size };
}

function nextPrime(from: number): number {
  for (let candidate = from | 1; ; candidate += 2) if (isPrime(candidate)) return candidate;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
