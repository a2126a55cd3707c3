import type { Algorithm, AlgorithmOptions, Candidate, PickContext, PoolView } from './algorithm.js';
import { AliasTable } from './alias-table.js';
import { viewOf } from './view.js';

/** Weighted draws for a second, distinct candidate before falling back to uniform ones. */
const WEIGHTED_TRIES = 8;
const UNIFORM_TRIES = 8;

/**
 * Power of two choices over least requests (Envoy's default LEAST_REQUEST), weighted: two
 * distinct eligible servers are drawn in proportion to effective weight (an alias table
 * built in update(), O(1) a draw), and the one with the lower `(active + 1) / effectiveWeight(now)`
 * wins; on a tie the first drawn. Reads `active` itself: acquired/released are not needed.
 *
 * Excluded servers are drawn again. When one server holds nearly all the weight, the
 * second candidate falls back to a uniform draw among the others; only when almost every
 * server is excluded does a pick scan the list (O(n)). Like least-connections, idle servers
 * favour the heavier one, since `1 / weight` is its score.
 *
 * @example
 * const p2c = new PowerOfTwoChoices({ random: seededRandom(1) });
 * p2c.update(viewOf(servers), 'members');
 * p2c.pick(servers, { clientAddress: '203.0.113.7', now: Date.now() });
 */
export class PowerOfTwoChoices implements Algorithm {
  readonly name = 'p2c';
  readonly #random: () => number;
  #eligible: readonly Candidate[] | undefined;
  #table: AliasTable | undefined;

  constructor(options: AlgorithmOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  update(view: PoolView): void {
    const eligible = view.eligible;
    const weights = new Float64Array(eligible.length);
    eligible.forEach((server, i) => (weights[i] = Math.max(0, server.effectiveWeight(view.now))));
    // all weights 0 should not happen (eligible servers weigh > 0); draw evenly then
    if (!weights.some((weight) => weight > 0)) weights.fill(1);
    this.#table = eligible.length > 0 ? new AliasTable(weights) : undefined;
    this.#eligible = eligible;
  }

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    if (servers !== this.#eligible) this.update(viewOf(servers, servers, context.now));
    const first = this.#draw(undefined, context.exclude, context.now);
    if (first === undefined) return undefined;
    const second = this.#draw(first, context.exclude, context.now);
    if (second === undefined) return first as S;
    return score(second, context.now) < score(first, context.now) ? (second as S) : (first as S);
  }

  /** An eligible server that is neither `other` nor excluded, drawn by weight; undefined if none. */
  #draw(other: Candidate | undefined, exclude: ReadonlySet<Candidate> | undefined, now: number): Candidate | undefined {
    const servers = this.#eligible;
    const table = this.#table;
    if (servers === undefined || table === undefined) return undefined;
    for (let tries = 0; tries < WEIGHTED_TRIES; tries++) {
      const server = servers[table.draw(this.#random())]!;
      if (server !== other && (exclude === undefined || !exclude.has(server))) return server;
    }
    for (let tries = 0; tries < UNIFORM_TRIES; tries++) {
      const server = servers[Math.floor(this.#random() * servers.length)]!;
      if (server !== other && (exclude === undefined || !exclude.has(server))) return server;
    }
    // nearly everything is ruled out: one weighted draw among what is left (reservoir, one pass)
    let chosen: Candidate | undefined;
    let total = 0;
    for (const server of servers) {
      if (server === other || exclude?.has(server)) continue;
      const weight = Math.max(0, server.effectiveWeight(now));
      total += weight;
      if (chosen === undefined || this.#random() * total < weight) chosen = server;
    }
    return chosen;
  }
}

function score(server: Candidate, now: number): number {
  return (server.active + 1) / server.effectiveWeight(now);
}
