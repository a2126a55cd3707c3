import type { Algorithm, Candidate } from './algorithm.js';

/** Each eligible server in turn, ignoring weights. */
export class RoundRobin implements Algorithm {
  readonly name = 'round-robin';
  #next = 0;

  pick<S extends Candidate>(servers: readonly S[]): S | undefined {
    if (this.#next >= servers.length) this.#next = 0;
    return servers[this.#next++];
  }
}
