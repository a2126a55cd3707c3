import type { Algorithm, Candidate, PickContext, PoolView, UpdateReason } from './algorithm.js';
import { IndexedHeap, type HeapEntry } from './indexed-heap.js';
import { viewOf } from './view.js';

interface Load extends HeapEntry {
  readonly server: Candidate;
  /** `(active + 1) / weight`, kept current by acquired/released. */
  score: number;
  /** Effective weight as of the last update (slow start moves it; updates come every few % of a ramp). */
  weight: number;
  /** Unique, rising with every pick: among equal scores the longest unpicked goes first. */
  turn: number;
}

const MIN_WEIGHT = 1e-9;

/**
 * Fewest requests in flight per unit of weight. Scores `(active + 1) / effectiveWeight`, so
 * that a server in slow start (small effective weight) is not flooded for having 0 in flight.
 * Ties are broken in rotation, so equal servers share instead of all going to the first.
 *
 * An indexed heap keeps the order: pick O(log n) (plus O(log n) per excluded server at the
 * top), acquired/released O(log n). Needs acquired/released on every start and end, since
 * scores only move then; update() refreshes every score and effective weight.
 *
 * @example
 * const lc = new LeastConnections();
 * lc.update(viewOf(servers), 'members');
 * const server = lc.pick(servers, context);
 * server.active++; lc.acquired(server);
 */
export class LeastConnections implements Algorithm {
  readonly name = 'least-connections';
  #loads = new Map<Candidate, Load>();
  #heap = new IndexedHeap<Load>((a, b) => a.score < b.score || (a.score === b.score && a.turn < b.turn));
  #eligible: readonly Candidate[] | undefined;
  #turn = 0;

  update(view: PoolView, reason: UpdateReason): void {
    if (reason === 'members') {
      const keep = new Set(view.members);
      for (const server of this.#loads.keys()) if (!keep.has(server)) this.#loads.delete(server);
    }
    const entries: Load[] = [];
    for (const server of view.eligible) {
      let load = this.#loads.get(server);
      if (load === undefined) {
        load = { server, score: 0, weight: 1, turn: ++this.#turn, heapIndex: -1 };
        this.#loads.set(server, load);
      }
      load.weight = Math.max(MIN_WEIGHT, server.effectiveWeight(view.now));
      load.score = (server.active + 1) / load.weight;
      entries.push(load);
    }
    this.#heap.rebuild(entries);
    this.#eligible = view.eligible;
  }

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    if (servers !== this.#eligible) this.update(viewOf(servers, servers, context.now), 'eligibility');
    const exclude = context.exclude;
    const load = exclude === undefined || exclude.size === 0 ? this.#heap.peek() : this.#heap.first((l) => exclude.has(l.server));
    if (load === undefined) return undefined;
    load.turn = ++this.#turn;
    this.#heap.changed(load);
    return load.server as S;
  }

  acquired(server: Candidate): void {
    this.#moved(server);
  }

  released(server: Candidate): void {
    this.#moved(server);
  }

  #moved(server: Candidate): void {
    const load = this.#loads.get(server);
    if (load === undefined || !this.#heap.has(load)) return;
    load.score = (server.active + 1) / load.weight;
    this.#heap.changed(load);
  }
}
