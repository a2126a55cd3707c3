import type { ServerRecord } from './records.js';

/** Who wrote a change: this instance's own code or dashboard, another instance, discovery, a rollout, the seed, a resync. */
export type ChangeOrigin = 'local' | 'remote' | 'discovery' | 'rollout' | 'seed' | 'resync';

/** Who asked for a change, for the audit log. */
export interface Actor {
  user: string;
  /** The client's address when it came over HTTP. */
  address?: string;
}

/**
 * One record's compare-and-set: write `after` (null deletes) only if the record's revision is
 * still `expectRev` (null: the record must not exist yet). The store assigns the new revision.
 */
export interface RecordWrite {
  readonly id: string;
  readonly expectRev: number | null;
  readonly after: Omit<ServerRecord, 'rev'> | null;
}

/** A batch of writes to one pool, applied all or nothing. */
export interface Write {
  readonly pool: string;
  readonly writes: readonly RecordWrite[];
  readonly actor: Actor | undefined;
  readonly origin: ChangeOrigin;
  /** The instance that wrote it. */
  readonly instance: string;
  readonly at: number;
}

export interface AppliedChange {
  readonly id: string;
  readonly before: ServerRecord | null;
  readonly after: ServerRecord | null;
}

/** A write as committed: the revision the store gave it, and each record before and after. */
export interface Commit {
  readonly pool: string;
  readonly revision: number;
  /** As this instance sees it: a commit written by another instance is `remote`. */
  readonly origin: ChangeOrigin;
  readonly instance: string;
  readonly actor: Actor | undefined;
  readonly at: number;
  readonly changes: readonly AppliedChange[];
}

/** Every pool's records at one revision: what a store holds, and what a resync replaces. */
export interface StateSnapshot {
  readonly revision: number;
  readonly pools: Readonly<Record<string, readonly ServerRecord[]>>;
}

/** The event `balancer.on('change')` gives: one per commit, with the full records. */
export type ChangeEvent = Commit;
