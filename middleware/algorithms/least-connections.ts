import type { Algorithm, Candidate, PickContext } from './algorithm.js';

/**
 * Fewest requests in flight per unit of weight. Scores `(active + 1) / weight`, so that a
 * server in slow start (small effective weight) is not flooded for having 0 connections.
 * Ties are broken in rotation, so equal servers share instead of all going to the first.
 */
export class LeastConnections implements Algorithm {
  readonly name = 'least-connections';
  #start = 0;

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    const count = servers.length;
    if (this.#start >= count) this.#start = 0;
    let best: S | undefined;
    let bestScore = Infinity;
    for (let n = 0, i = this.#start; n < count; n++, i = i + 1 === count ? 0 : i + 1) {
      const server = servers[i]!;
      const score = (server.active + 1) / server.effectiveWeight(context.now);
      if (score < bestScore) {
        bestScore = score;
        best = server;
      }
    }
    this.#start++;
    return best;
  }
}
