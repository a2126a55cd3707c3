import type { Awaitable } from '../affinity/store.js';
import type { SafeLogger } from '../logger.js';
import type { Commit, StateSnapshot, Write } from './changes.js';

/** What a store tells the balancer that owns it. */
export interface StoreListener {
  /** A commit made elsewhere (another instance), in revision order. */
  committed(commit: Commit): void;
  /** The whole state, after a reconnect, a gap in the change log or a reset store. */
  resynced(state: StateSnapshot): void;
  /** A drain report from another instance. */
  drainReported?(report: DrainReport): void;
  /** The store became reachable or unreachable. */
  availability?(available: boolean): void;
}

/** One instance's word that it has nothing left in flight on a draining server. */
export interface DrainReport {
  readonly instance: string;
  readonly pool: string;
  readonly server: string;
  readonly drainId: string;
  /** Requests and WebSockets it closed at the deadline (0 when it went idle first). */
  readonly closed: number;
  readonly at: number;
}

/** An instance of the fleet, as its heartbeat says. */
export interface InstanceInfo {
  readonly id: string;
  /** The revision it has applied. */
  readonly revision: number;
  /** How many revisions it is behind the newest this instance knows. */
  readonly lag: number;
  readonly lastSeen: number;
  /** This very instance. */
  readonly self: boolean;
}

export interface StoreContext {
  readonly instanceId: string;
  /** The configured state, written when the store is empty (or always, with `replace`). */
  readonly seed: StateSnapshot;
  readonly seedMode: 'if-empty' | 'replace';
  readonly listener: StoreListener;
  readonly logger: SafeLogger;
}

/**
 * Where control state lives. Contract: `commit` applies a write all or nothing, compare-and-set
 * on every record's revision, and either resolves with the commit (revision assigned) or rejects
 * with a ControlError (`CONFLICT` with the current record, `STORE_UNAVAILABLE`). Commits made
 * through other handles reach `listener.committed` in revision order. `open` answers the state to
 * start from and never waits long: a store that cannot be reached answers the seed (or its last
 * snapshot) and joins later.
 */
export interface ControlStore {
  open(context: StoreContext): Awaitable<StateSnapshot>;
  commit(write: Write): Awaitable<Commit>;
  /** Optional, for stores shared between instances: tell the others that a drain ended here. */
  reportDrain?(report: DrainReport): void;
  /** Optional: the live instances, this one included. */
  instances?(): readonly InstanceInfo[];
  /** Optional: is the store reachable now? */
  readonly available?: boolean;
  close(): Promise<void>;
}
