import { addArm, emptyArm, loadArm, storeArm, type Second, type StoredArm } from './engine.js';

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
  canary: StoredArm;
  baseline: StoredArm;
}

export function toWire(rolloutId: string, second: Second): WireSecond {
  return { id: rolloutId, canary: storeArm(second.canary), baseline: storeArm(second.baseline) };
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
    if (wire.id !== rolloutId || !isArm(wire.canary) || !isArm(wire.baseline)) continue;
    sum ??= { canary: emptyArm(), baseline: emptyArm() };
    addSecond(sum, { canary: loadArm(wire.canary), baseline: loadArm(wire.baseline) });
  }
  return sum;
}

export function isEmptySecond(second: Second): boolean {
  return second.canary.requests === 0 && second.baseline.requests === 0;
}

/** Fold `from` into `into` (the leader's own second and what followers sent). */
export function addSecond(into: Second, from: Second): void {
  addArm(into.canary, from.canary);
  addArm(into.baseline, from.baseline);
}

function isArm(arm: StoredArm | undefined): boolean {
  return typeof arm?.requests === 'number' && typeof arm.errors === 'number' && Array.isArray(arm.buckets);
}
