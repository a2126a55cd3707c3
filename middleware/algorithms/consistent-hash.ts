import type { Algorithm, Candidate, PickContext, PoolView, UpdateReason } from './algorithm.js';
import { hash32 } from './hash.js';
import { buildRing, ringWeight, type Ring } from './ring.js';
import { viewOf } from './view.js';

/** HAProxy's hash-balance-factor 125: no server above 125% of its weighted share of the load. */
export const DEFAULT_BALANCE_FACTOR = 1.25;

export interface ConsistentHashOptions {
  /** Reported as the algorithm's name. */
  name?: string;
  /** Mirrokni et al.'s c, >= 1; Infinity turns the load bound off (ip-hash). */
  balanceFactor?: number;
}

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2016; HAProxy's
 * `hash-balance-factor`, Envoy's `hash_balance_factor`). The key is `context.hashKey ??
 * context.clientAddress`; it starts at its place on a ring built over all members and their
 * configured weights (ring.ts), and walks forward to the first server that is eligible, not
 * excluded, and below its capacity `ceil(c * (totalActive + 1) * weight / totalWeight)`. Totals are
 * over eligible servers; the weight in the bound is the effective one as of the last update,
 * so a server in slow start keeps its keys but overflows sooner. With c = Infinity this is
 * ip-hash: no bound, only ineligible and excluded servers are passed over.
 *
 * The ring is rebuilt only on update('members') when ids or weights changed; eligibility
 * changes only flip flags, so clients of other servers keep theirs. A pick is a ring lookup
 * (see ring.ts) plus a short walk (the bound keeps a (c - 1) share of capacity free); only
 * when every allowed server is at its bound does it walk the whole ring and take the first
 * allowed one. Needs acquired/released on every start and end (the total load).
 *
 * Why a ring and not Maglev: both were built and measured (`bench/picks.ts`, 2 shared
 * cores, weights 1-4). Picks cost the same to within 30 ns (ring 99/117/146/179 ns against
 * Maglev's 97/113/122/152 ns at 10/100/1,000/10,000 servers, with acquired/released), since
 * the ring's prefix index leaves a binary search of a few points. The ring builds faster
 * (0.3/3.5/21/15 ms against 6.2/11.5/34/440 ms; Maglev's table must be 100x the members)
 * and on removing one server moves other servers' keys only once its point budget binds
 * (0/0/0.09%/0 of all keys), where Maglev's refilled table always did (0.21%/0.63%/0.29%/
 * 0.04%, up to 10x the removed server's own share). So Maglev was dropped.
 *
 * @example
 * const hash = new ConsistentHash({ balanceFactor: 1.25 });
 * hash.update(viewOf(servers), 'members');
 * hash.pick(servers, { clientAddress: '203.0.113.7', hashKey: 'user-42', now: Date.now() });
 */
export class ConsistentHash implements Algorithm {
  readonly name: string;
  readonly #factor: number;
  #members: Candidate[] = [];
  #index = new Map<Candidate, number>();
  #weights = new Float64Array(0);
  #ring: Ring | undefined;
  #builds = 0;
  #eligible = new Uint8Array(0);
  /** Effective weights as of the last update, for the bound. */
  #loadWeights = new Float64Array(0);
  #totalWeight = 0;
  #totalActive = 0;
  #seen: readonly Candidate[] | undefined;

  constructor(options: ConsistentHashOptions = {}) {
    const factor = options.balanceFactor ?? DEFAULT_BALANCE_FACTOR;
    if (!(factor >= 1)) throw new RangeError(`balanceFactor must be a number >= 1, got ${String(factor)}`);
    this.name = options.name ?? 'consistent-hash';
    this.#factor = factor;
  }

  /** How many times the ring has been built: eligibility changes never add to it. */
  get builds(): number {
    return this.#builds;
  }

  update(view: PoolView, reason: UpdateReason): void {
    const strangers = view.eligible.filter((server) => !this.#index.has(server));
    if (reason === 'members') this.#rebuild(view.members);
    else if (this.#ring === undefined || strangers.length > 0) this.#rebuild([...this.#members, ...strangers]);
    this.#refresh(view);
  }

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    if (servers !== this.#seen) this.update(viewOf(servers, servers, context.now), 'eligibility');
    const ring = this.#ring!;
    const owners = ring.owners;
    const size = owners.length;
    const members = this.#members;
    const eligible = this.#eligible;
    const exclude = context.exclude !== undefined && context.exclude.size > 0 ? context.exclude : undefined;
    // integer active < ceil(x) exactly when active < x
    const perWeight = this.#factor === Infinity ? Infinity : (this.#factor * (this.#totalActive + 1)) / this.#totalWeight;
    let fallback: Candidate | undefined;
    let at = ring.start(hash32(context.hashKey ?? context.clientAddress));
    for (let step = 0; step < size; step++) {
      const owner = owners[at]!;
      if (eligible[owner] === 1) {
        const server = members[owner]!;
        if (exclude === undefined || !exclude.has(server)) {
          if (server.active < perWeight * this.#loadWeights[owner]!) return server as S;
          fallback ??= server;
        }
      }
      if (++at === size) at = 0;
    }
    return fallback as S | undefined;
  }

  acquired(server: Candidate): void {
    const owner = this.#index.get(server);
    if (owner !== undefined && this.#eligible[owner] === 1) this.#totalActive++;
  }

  released(server: Candidate): void {
    const owner = this.#index.get(server);
    if (owner !== undefined && this.#eligible[owner] === 1 && this.#totalActive > 0) this.#totalActive--;
  }

  #rebuild(members: readonly Candidate[]): void {
    const weights = Float64Array.from(members, (member) => ringWeight(member.weight));
    const same = this.#ring !== undefined && members.length === this.#members.length
      && members.every((member, i) => member === this.#members[i] && weights[i] === this.#weights[i]);
    if (same) return;
    this.#members = members.slice();
    this.#index = new Map(members.map((member, i) => [member, i]));
    this.#weights = weights;
    this.#ring = buildRing(members.map((member) => member.id), weights);
    this.#builds++;
  }

  #refresh(view: PoolView): void {
    const count = this.#members.length;
    this.#eligible = new Uint8Array(count);
    this.#loadWeights = new Float64Array(count);
    this.#totalWeight = 0;
    this.#totalActive = 0;
    this.#members.forEach((member, i) => {
      // eligible and on the ring: a weight-0 member has no points to be found at
      if (!view.isEligible(member) || this.#weights[i]! <= 0) return;
      this.#eligible[i] = 1;
      this.#loadWeights[i] = member.effectiveWeight(view.now);
      this.#totalWeight += this.#loadWeights[i]!;
      this.#totalActive += member.active;
    });
    this.#seen = view.eligible;
  }
}
