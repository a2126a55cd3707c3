import type { ServerConfig } from '../options.js';

/**
 * Set by operators and code, and shared between instances: `removing` drains and then removes
 * the server. Health (set by checks) is another axis and never lives in a record.
 */
export type AdminState = 'active' | 'draining' | 'disabled' | 'removing';

/** A drain under way: every instance closes what it still has in flight at `deadline`. */
export interface DrainIntent {
  /** Names this drain across instances (their reports carry it). */
  readonly id: string;
  /** Epoch milliseconds. */
  readonly deadline: number;
}

/**
 * A server's desired state: what operators and code decide, as data. One record per server,
 * versioned by `rev` (the revision of the change that last wrote it), so that concurrent writers
 * compare and set instead of overwriting each other.
 */
export interface ServerRecord {
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly backup: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly admin: AdminState;
  /** Set while `admin` is draining or removing. */
  readonly drain: DrainIntent | null;
  readonly rev: number;
}

/** The fields a change may set on an existing record. */
export type RecordUpdate = Partial<Pick<ServerRecord, 'weight' | 'admin' | 'drain' | 'labels'>>;

/** A configured server as a record: active, never changed (rev 0). */
export function recordOf(server: ServerConfig): ServerRecord {
  return Object.freeze({ id: server.id, url: server.url, weight: server.weight, backup: server.backup, labels: server.labels, admin: 'active', drain: null, rev: 0 });
}

/** Does this admin state take new (unpinned) requests? */
export function takesNewRequests(admin: AdminState): boolean {
  return admin === 'active';
}

/** Draining and removing servers still take requests pinned to them, until the deadline. */
export function isDraining(admin: AdminState): boolean {
  return admin === 'draining' || admin === 'removing';
}

/** Plain JSON for stores and snapshots; frozen so that no reader can change another's view. */
export function freezeRecord(record: ServerRecord): ServerRecord {
  return Object.freeze({ ...record, labels: Object.freeze({ ...record.labels }), drain: record.drain ? Object.freeze({ ...record.drain }) : null });
}

/** Is `value` a well-formed record (a store's data may have been written by anyone)? */
export function isServerRecord(value: unknown): value is ServerRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const drainOk = r.drain === null || (typeof r.drain === 'object' && typeof (r.drain as DrainIntent).id === 'string' && typeof (r.drain as DrainIntent).deadline === 'number');
  return typeof r.id === 'string' && typeof r.url === 'string' && typeof r.weight === 'number' && typeof r.backup === 'boolean'
    && typeof r.labels === 'object' && r.labels !== null && ['active', 'draining', 'disabled', 'removing'].includes(r.admin as string)
    && drainOk && typeof r.rev === 'number';
}
