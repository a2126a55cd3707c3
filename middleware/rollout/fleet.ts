import { addBuckets, fromSparse, sparse } from './histogram.js';
import { emptyArm, type Second } from './engine.js';
import type { ArmWindow } from './judge/index.js';

/**
 * How the instances serving one pool agree on its rollout: one of them leads (runs the clock,
 * judges, saves), and the others send it their per-second counts. A single instance always
 * leads and has nobody to hear from.
 */
export interface RolloutFleet {
  /** Do other instances serve this pool's traffic (a shared control store)? */
  readonly shared: boolean;
  /** Take or renew the lead of this pool's rollout; answers whether we hold it. Never throws. */
  lead(): Promise<boolean>;
  /** Give the lead up (closing, or nothing left to run). Never throws. */
  release(): Promise<void>;
  /** A follower's second of counts, for the leader. Never throws. */
  contribute(rolloutId: string, second: Second): void;
  /** The counts followers sent since the last call, summed; undefined when none came. */
  collect(rolloutId: string): Promise<Second | undefined>;
}

/** The fleet of one instance. */
export const SOLO_FLEET: RolloutFleet = {
  shared: false,
  lead: () => Promise.resolve(true),
  release: () => Promise.resolve(),
  contribute: () => undefined,
  collect: () => Promise.resolve(undefined),
};

/** A second as it travels between instances: sparse histograms keep it to a few hundred bytes. */
export interface WireSecond {
  id: string;
  canary: WireArm;
  baseline: WireArm;
}

type WireArm = [requests: number, errors: number, buckets: Array<[number, number]>];

export function toWire(rolloutId: string, second: Second): WireSecond {
  const arm = (window: ArmWindow): WireArm => [window.requests, window.errors, sparse(window.buckets)];
  return { id: rolloutId, canary: arm(second.canary), baseline: arm(second.baseline) };
}

/** Sum the seconds of one rollout; entries of another rollout (or unreadable ones) are skipped. */
export function sumWire(rolloutId: string, entries: readonly string[]): Second | undefined {
  let sum: Second | undefined;
  for (const entry of entries) {
    let wire: WireSecond;
    try {
      wire = JSON.parse(entry) as WireSecond;
    } catch {
      continue;
    }
    if (wire.id !== rolloutId || !Array.isArray(wire.canary) || !Array.isArray(wire.baseline)) continue;
    sum ??= { canary: emptyArm(), baseline: emptyArm() };
    addWire(sum.canary, wire.canary);
    addWire(sum.baseline, wire.baseline);
  }
  return sum;
}

export function isEmptySecond(second: Second): boolean {
  return second.canary.requests === 0 && second.baseline.requests === 0;
}

function addWire(into: ArmWindow, [requests, errors, buckets]: WireArm): void {
  into.requests += Number(requests) || 0;
  into.errors += Number(errors) || 0;
  addBuckets(into.buckets, fromSparse(Array.isArray(buckets) ? buckets : []));
}

/** Fold `from` into `into` (the leader's own second and what followers sent). */
export function addSecond(into: Second, from: Second): void {
  for (const arm of ['canary', 'baseline'] as const) {
    into[arm].requests += from[arm].requests;
    into[arm].errors += from[arm].errors;
    addBuckets(into[arm].buckets, from[arm].buckets);
  }
}
