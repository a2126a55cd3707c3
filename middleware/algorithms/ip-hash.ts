import type { Algorithm, Candidate, PickContext } from './algorithm.js';
import { hash32 } from './hash.js';

/** Points per unit of weight: enough that shares stay within a point or two of even. */
const POINTS_PER_WEIGHT = 400;

interface Ring<S> {
  points: Uint32Array;
  owners: S[];
}

/**
 * The same client address goes to the same server, over a consistent-hash ring: when one
 * of N servers leaves, only its ~1/N of clients move. Uses configured weights, not slow
 * start's, so that a client's server does not shift while a ramp runs.
 */
export class IpHash implements Algorithm {
  readonly name = 'ip-hash';
  #servers: readonly Candidate[] = [];
  #ring: Ring<Candidate> = { points: new Uint32Array(0), owners: [] };

  pick<S extends Candidate>(servers: readonly S[], context: PickContext): S | undefined {
    if (servers !== this.#servers) {
      this.#servers = servers;
      this.#ring = buildRing(servers);
    }
    const { points, owners } = this.#ring;
    if (points.length === 0) return undefined;
    const key = hash32(context.clientAddress);
    // first point at or after the key, wrapping round
    let low = 0;
    let high = points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (points[mid]! < key) low = mid + 1;
      else high = mid;
    }
    return owners[low === points.length ? 0 : low] as S;
  }
}

function buildRing<S extends Candidate>(servers: readonly S[]): Ring<S> {
  const entries: Array<[number, S]> = [];
  for (const server of servers) {
    const count = Math.max(1, Math.round(POINTS_PER_WEIGHT * (weightOf(server))));
    for (let i = 0; i < count; i++) entries.push([hash32(`${server.id}#${i}`), server]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  return { points: Uint32Array.from(entries, (entry) => entry[0]), owners: entries.map((entry) => entry[1]) };
}

function weightOf(server: Candidate): number {
  const configured = (server as Candidate & { weight?: unknown }).weight;
  return typeof configured === 'number' && configured > 0 ? configured : server.effectiveWeight();
}
