import type { Algorithm, Candidate, PickContext, PoolView, UpdateReason } from './algorithm.js';
import { IndexedHeap, type HeapEntry } from './indexed-heap.js';
import { viewOf } from './view.js';

/** A server's place in the schedule, kept while it is out so that it comes back with its credit. */
interface Turn extends HeapEntry {
  readonly server: Candidate;
  /** Virtual time of its next turn. */
  deadline: number;
  /** Virtual time of its last turn: a new weight reschedules from here. */
  last: number;
  /** The effective weight its deadline was set with. */
  weight: number;
  /** Unique, rising with every rescheduling: ties go to the longest waiting. */
  order: number;
}

/** An eligible server always has weight > 0; a zero here would freeze the schedule at infinity. */
const MIN_WEIGHT = 1e-9;
/** Arrivals' first deadlines are nudged apart by rank, so that an exact tie between their
 *  turns is settled by rank rather than by rounding (far above doubles' noise near 0). */
const RANK_NUDGE = 2 ** -32;

/**
 * Smooth weighted round robin as earliest-deadline-first (Envoy's EDF scheduler, Sainte-Laguë's
 * divisor method): each server's turns fall at virtual times spaced `1 / effectiveWeight`, and
 * the earliest deadline goes next, from a binary heap, O(log n) per pick. Servers entering
 * together are staggered by `(rank + 0.5) / count` of a turn, so equal weights alternate
 * and a heavy server's turns are spread between the light ones'. Weights 5,1,1 give
 * `a a a b a a c`, over and over: never more than three of a's turns in a row, where nginx's
 * `a a b a c a a` has four across its period boundary. Equal weights give `a b c a b c`.
 *
 * Slow start: the deadline is advanced by `1 / effectiveWeight(now)` at pick time, and an
 * update reschedules a server whose effective weight moved from its last turn. An excluded
 * server keeps its deadline (it goes next once allowed), and a server that leaves the
 * eligible set keeps its place and comes back with it (or, if that has passed, half a turn
 * ahead of the present, as an arrival), so neither a retry nor a health flap resets anyone's
 * credit, and a server back from a long absence gets no burst of turns.
 *
 * @example
 * const wrr = new WeightedRoundRobin();
 * wrr.update(viewOf(servers), 'members');
 * wrr.pick(servers, { clientAddress: '203.0.113.7', now: Date.now() });
 */
export class WeightedRoundRobin implements Algorithm {
  readonly name = 'weighted-round-robin';
  #turns = new Map<Candidate, Turn>();
  #heap = new IndexedHeap<Turn>((a, b) => a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order));
  #eligible: readonly Candidate[] | undefined;
  /** Virtual time: the deadline of the latest turn given. */
  #now = 0;
  #order = 0;

  update(view: PoolView, reason: UpdateReason): void {
    if (reason === 'members') this.#forgetAllBut(view.members);
    const scheduled: Turn[] = [];
    const arrivals: Candidate[] = [];
    for (const server of view.eligible) {
      const turn = this.#turns.get(server);
      if (turn === undefined) {
        arrivals.push(server);
        continue;
      }
      const weight = positive(server.effectiveWeight(view.now));
      // back from being out: its old place, or half a turn ahead as an arrival, never a burst of turns to catch up
      if (!this.#heap.has(turn)) turn.deadline = Math.max(turn.deadline, this.#now + 0.5 / weight);
      if (weight !== turn.weight) {
        turn.deadline = Math.max(this.#now, turn.last + 1 / weight);
        turn.weight = weight;
      }
      scheduled.push(turn);
    }
    arrivals.forEach((server, rank) => {
      const weight = positive(server.effectiveWeight(view.now));
      const deadline = this.#now + (rank + 0.5) / arrivals.length / weight + rank * RANK_NUDGE;
      const turn: Turn = { server, deadline, last: deadline - 1 / weight, weight, order: ++this.#order, heapIndex: -1 };
      this.#turns.set(server, turn);
      scheduled.push(turn);
    });
    this.#heap.rebuild(scheduled);
    this.#eligible = view.eligible;
  }

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    if (servers !== this.#eligible) this.update(viewOf(servers, servers, context.now), 'eligibility');
    const exclude = context.exclude;
    const turn = exclude === undefined || exclude.size === 0 ? this.#heap.peek() : this.#heap.first((t) => exclude.has(t.server));
    if (turn === undefined) return undefined;
    const weight = positive(turn.server.effectiveWeight(context.now));
    if (turn.deadline > this.#now) this.#now = turn.deadline;
    turn.last = turn.deadline;
    turn.deadline += 1 / weight;
    turn.weight = weight;
    turn.order = ++this.#order;
    this.#heap.changed(turn);
    return turn.server as S;
  }

  #forgetAllBut(members: readonly Candidate[]): void {
    const keep = new Set(members);
    for (const [server, turn] of this.#turns) {
      if (keep.has(server)) continue;
      if (this.#heap.has(turn)) this.#heap.remove(turn);
      this.#turns.delete(server);
    }
  }
}

function positive(weight: number): number {
  return weight > MIN_WEIGHT ? weight : MIN_WEIGHT;
}
