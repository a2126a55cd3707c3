/**
 * Something in flight on a server (a request, a WebSocket) that a drain timeout or close()
 * may have to cut. Its links belong to the list it is on.
 */
export interface InFlight {
  abort(): void;
  inFlightPrev: InFlight | null;
  inFlightNext: InFlight | null;
  inFlightOn: InFlightList | null;
}

/** The links an InFlight starts with, for object literals. */
export function unlinked(): Pick<InFlight, 'inFlightPrev' | 'inFlightNext' | 'inFlightOn'> {
  return { inFlightPrev: null, inFlightNext: null, inFlightOn: null };
}

/**
 * What a server has in flight: an intrusive doubly linked list, O(1) to add and remove and
 * allocating nothing. (A long-lived Set churned once per request keeps reallocating its
 * table into old space, and the major collections that follow cost more than the proxying.)
 */
export class InFlightList {
  #head: InFlight | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(item: InFlight): void {
    item.inFlightOn = this;
    item.inFlightPrev = null;
    item.inFlightNext = this.#head;
    if (this.#head) this.#head.inFlightPrev = item;
    this.#head = item;
    this.#size++;
  }

  /** Remove `item`; false when it was not on this list (already removed). */
  delete(item: InFlight): boolean {
    if (item.inFlightOn !== this) return false;
    if (item.inFlightPrev) item.inFlightPrev.inFlightNext = item.inFlightNext;
    else this.#head = item.inFlightNext;
    if (item.inFlightNext) item.inFlightNext.inFlightPrev = item.inFlightPrev;
    item.inFlightOn = item.inFlightPrev = item.inFlightNext = null;
    this.#size--;
    return true;
  }

  /** Visit each item; `visit` may remove the item it is given. */
  forEach(visit: (item: InFlight) => void): void {
    for (let item = this.#head; item; ) {
      const next: InFlight | null = item.inFlightNext;
      visit(item);
      item = next;
    }
  }

  toArray(): InFlight[] {
    const items: InFlight[] = [];
    for (let item = this.#head; item; item = item.inFlightNext) items.push(item);
    return items;
  }
}
