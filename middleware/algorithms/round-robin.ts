import type { Algorithm, Candidate, PickContext } from './algorithm.js';

/**
 * Each eligible server in turn, ignoring weights. Needs no update(): the cursor walks
 * `servers` itself, O(1) plus one step per excluded server it passes. An excluded server
 * is stepped over, as if it were not eligible for that one pick; the cursor then goes on
 * from the server it returned, so the rotation keeps its place.
 */
export class RoundRobin implements Algorithm {
  readonly name = 'round-robin';
  #next = 0;

  pick<S extends Candidate>(servers: readonly S[], context?: PickContext): S | undefined {
    const count = servers.length;
    const exclude = context?.exclude;
    let i = this.#next >= count ? 0 : this.#next;
    for (let n = 0; n < count; n++) {
      const server = servers[i]!;
      i = i + 1 === count ? 0 : i + 1;
      if (exclude === undefined || !exclude.has(server)) {
        this.#next = i;
        return server;
      }
    }
    return undefined;
  }
}
