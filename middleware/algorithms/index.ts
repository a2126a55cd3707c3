import type { Algorithm, AlgorithmName } from './algorithm.js';
import { IpHash } from './ip-hash.js';
import { LeastConnections } from './least-connections.js';
import { RoundRobin } from './round-robin.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

/** One fresh instance per pool: built-in algorithms keep per-pool state. */
export const ALGORITHMS: Readonly<Record<AlgorithmName, () => Algorithm>> = Object.freeze({
  'round-robin': () => new RoundRobin(),
  'weighted-round-robin': () => new WeightedRoundRobin(),
  'least-connections': () => new LeastConnections(),
  'ip-hash': () => new IpHash(),
});

export function isAlgorithmName(name: unknown): name is AlgorithmName {
  return typeof name === 'string' && Object.hasOwn(ALGORITHMS, name);
}
