/** An entry knows its place in the heap, so that a changed key moves in O(log n); -1 when out. */
export interface HeapEntry {
  heapIndex: number;
}

/**
 * A binary min-heap whose entries carry their own index: peek O(1), push, remove and
 * `changed` (re-sift after a key moved either way) O(log n). `before` must be a strict
 * total order (break ties on a unique field), so that answers never depend on layout.
 */
export class IndexedHeap<E extends HeapEntry> {
  readonly #before: (a: E, b: E) => boolean;
  #items: E[] = [];

  constructor(before: (a: E, b: E) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): E | undefined {
    return this.#items[0];
  }

  has(entry: E): boolean {
    return entry.heapIndex >= 0 && this.#items[entry.heapIndex] === entry;
  }

  /** Replace the contents in O(n) (Floyd's heapify). */
  rebuild(entries: readonly E[]): void {
    for (const entry of this.#items) entry.heapIndex = -1;
    this.#items = entries.slice();
    this.#items.forEach((entry, i) => (entry.heapIndex = i));
    for (let i = (this.#items.length >>> 1) - 1; i >= 0; i--) this.#down(i);
  }

  push(entry: E): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  pop(): E | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(entry: E): void {
    const i = entry.heapIndex;
    const last = this.#items.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.changed(last);
  }

  /** The entry's key moved: restore the heap order around it. */
  changed(entry: E): void {
    const i = entry.heapIndex;
    if (i > 0 && this.#before(entry, this.#items[(i - 1) >>> 1]!)) this.#up(i);
    else this.#down(i);
  }

  /**
   * The first entry in order that `skip` does not reject, without disturbing the heap:
   * the rejected tops are lifted out and put back, O((rejected + 1) log n).
   */
  first(skip: ((entry: E) => boolean) | undefined): E | undefined {
    const top = this.#items[0];
    if (top === undefined || skip === undefined || !skip(top)) return top;
    const aside: E[] = [];
    let found: E | undefined;
    for (let entry = this.pop(); entry !== undefined; entry = this.pop()) {
      aside.push(entry);
      if (!skip(entry)) {
        found = entry;
        break;
      }
    }
    for (const entry of aside) this.push(entry);
    return found;
  }

  #up(i: number): void {
    const items = this.#items;
    const entry = items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >>> 1;
      const parent = items[parentIndex]!;
      if (!this.#before(entry, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const count = items.length;
    const entry = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= count) break;
      const right = left + 1;
      let child = left;
      if (right < count && this.#before(items[right]!, items[left]!)) child = right;
      const smaller = items[child]!;
      if (!this.#before(smaller, entry)) break;
      items[i] = smaller;
      smaller.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
