import type { Candidate, PoolView } from './algorithm.js';

/**
 * A PoolView over plain arrays: what a built-in adopts when `pick` is handed a list other
 * than the last view's `eligible`, and what tests and benchmarks drive algorithms with.
 */
export function viewOf<S extends Candidate>(members: readonly S[], eligible: readonly S[] = members, now = Date.now()): PoolView<S> {
  const eligibleSet = new Set<S>(eligible);
  return { members, eligible, now, isEligible: (server) => eligibleSet.has(server) };
}
