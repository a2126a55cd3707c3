import { MAX_WEIGHT } from './algorithm.js';

/**
 * A consistent-hash table as the bounded-load walk sees it: a key starts at `start(hash)`
 * and walks `owners` forward, wrapping round. Each entry is a member's index.
 */
export interface HashTable {
  readonly owners: Int32Array;
  start(hash: number): number;
}

/** Builds a table over members' ids and weights (each 0..MAX_WEIGHT; 0 gets no entries). */
export type HashTableBuilder = (ids: readonly string[], weights: Float64Array) => HashTable;

/** A member's weight as a table uses it: bounded, so no weight can blow a table up. */
export function tableWeight(weight: number): number {
  return Number.isFinite(weight) && weight > 0 ? Math.min(weight, MAX_WEIGHT) : 0;
}
