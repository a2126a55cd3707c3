import type { Algorithm, Candidate, PickContext } from './algorithm.js';

/**
 * Smooth weighted round robin (nginx's): weights 5,1,1 give a a b a c a a, spreading
 * the heavy server's turns instead of sending it five in a row.
 */
export class WeightedRoundRobin implements Algorithm {
  readonly name = 'weighted-round-robin';
  #servers: readonly Candidate[] = [];
  #current: number[] = [];

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    if (servers !== this.#servers) {
      // a new eligible set: start everyone level rather than carry stale credit
      this.#servers = servers;
      this.#current = new Array<number>(servers.length).fill(0);
    }
    let total = 0;
    let best = -1;
    for (let i = 0; i < servers.length; i++) {
      const weight = servers[i]!.effectiveWeight(context.now);
      total += weight;
      const current = (this.#current[i]! += weight);
      if (best < 0 || current > this.#current[best]!) best = i;
    }
    if (best < 0) return undefined;
    this.#current[best]! -= total;
    return servers[best];
  }
}
