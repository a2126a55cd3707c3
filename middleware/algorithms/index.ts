import type { Algorithm, AlgorithmName, AlgorithmOptions } from './algorithm.js';
import { ConsistentHash } from './consistent-hash.js';
import { createIpHash } from './ip-hash.js';
import { LeastConnections } from './least-connections.js';
import { PowerOfTwoChoices } from './p2c.js';
import { RoundRobin } from './round-robin.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

/** One fresh instance per pool: built-in algorithms keep per-pool state. */
export const ALGORITHMS: Readonly<Record<AlgorithmName, (options?: AlgorithmOptions) => Algorithm>> = Object.freeze({
  'round-robin': () => new RoundRobin(),
  'weighted-round-robin': () => new WeightedRoundRobin(),
  'least-connections': () => new LeastConnections(),
  'ip-hash': () => createIpHash(),
  'p2c': (options?: AlgorithmOptions) => new PowerOfTwoChoices(options),
  'consistent-hash': (options?: AlgorithmOptions) => new ConsistentHash({ balanceFactor: options?.balanceFactor }),
});

export function isAlgorithmName(name: unknown): name is AlgorithmName {
  return typeof name === 'string' && Object.hasOwn(ALGORITHMS, name);
}
