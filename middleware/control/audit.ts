import type { Actor, ChangeOrigin, Commit } from './changes.js';
import type { ServerRecord } from './records.js';

/** What a change did to a server, as the audit log names it. */
export type AuditAction = 'add' | 'remove' | 'removed' | 'weight' | 'drain' | 'enable' | 'disable' | 'labels' | 'change' | 'rollout';

/** One line of the audit log: who, what, when, before and after. */
export interface AuditEntry {
  /** Increasing from 1 for the balancer's lifetime, so readers can tell what is new. */
  seq: number;
  /** Epoch milliseconds of the change. */
  at: number;
  /** The user (`code` for calls without an actor), and the address when it came over HTTP. */
  user: string;
  address: string | undefined;
  origin: ChangeOrigin;
  revision: number;
  action: AuditAction;
  pool: string;
  server: string;
  before: unknown;
  after: unknown;
}

/**
 * The list of applied changes, bounded: the oldest go first once `size` is reached. Every
 * commit is recorded, whoever made it (code, the dashboard, another instance, a rollout).
 */
export class AuditLog {
  readonly size: number;
  #entries: AuditEntry[] = [];
  #seq = 0;
  #listeners = new Set<(entry: AuditEntry) => void>();

  constructor(size = 500) {
    this.size = size;
  }

  /** Sequence number of the newest entry; 0 while the log is empty. */
  get seq(): number {
    return this.#seq;
  }

  /** Called for each new entry (the dashboard pushes it to open pages). Returns the unsubscribe. */
  subscribe(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Record one entry per changed server of a commit. */
  recordCommit(commit: Commit): void {
    for (const change of commit.changes) {
      const { action, before, after } = describeChange(change.before, change.after);
      this.#push({ at: commit.at, ...actorFields(commit.actor), origin: commit.origin, revision: commit.revision, action, pool: commit.pool, server: change.id, before, after });
    }
  }

  /** Record a rollout's transition (start, step, pause, abort…): `server` names the canary servers. */
  recordRollout(entry: { at: number; actor: Actor | undefined; revision: number; pool: string; server: string; before: unknown; after: unknown }): void {
    this.#push({ at: entry.at, ...actorFields(entry.actor), origin: 'rollout', revision: entry.revision, action: 'rollout', pool: entry.pool, server: entry.server, before: entry.before, after: entry.after });
  }

  /** Newest first, at most `limit`. */
  recent(limit = this.size): AuditEntry[] {
    return this.#entries.slice(-limit).reverse();
  }

  #push(entry: Omit<AuditEntry, 'seq'>): void {
    const full = Object.freeze({ seq: ++this.#seq, ...entry });
    this.#entries.push(full);
    // a ring would avoid the shift, but at ~1 entry per operator click the copy costs nothing
    if (this.#entries.length > this.size) this.#entries.shift();
    for (const listener of this.#listeners) {
      try {
        listener(full);
      } catch {
        // a subscriber's failure is its own; the log goes on
      }
    }
  }
}

function actorFields(actor: Actor | undefined): { user: string; address: string | undefined } {
  return { user: actor?.user ?? 'code', address: actor?.address };
}

/** The action and the values worth showing for one record's change. */
function describeChange(before: ServerRecord | null, after: ServerRecord | null): { action: AuditAction; before: unknown; after: unknown } {
  if (before === null && after !== null) return { action: 'add', before: null, after: { url: after.url, weight: after.weight, backup: after.backup, labels: after.labels } };
  if (after === null) return { action: 'removed', before: before ? { admin: before.admin, url: before.url, weight: before.weight } : null, after: null };
  if (before === null) return { action: 'change', before: null, after: null };
  if (before.admin !== after.admin) {
    const action: AuditAction = after.admin === 'active' ? 'enable' : after.admin === 'disabled' ? 'disable' : after.admin === 'removing' ? 'remove' : 'drain';
    return { action, before: before.admin, after: after.admin };
  }
  if (before.drain?.deadline !== after.drain?.deadline) return { action: 'drain', before: before.drain?.deadline ?? null, after: after.drain?.deadline ?? null };
  if (before.weight !== after.weight) return { action: 'weight', before: before.weight, after: after.weight };
  if (JSON.stringify(before.labels) !== JSON.stringify(after.labels)) return { action: 'labels', before: before.labels, after: after.labels };
  return { action: 'change', before: null, after: null };
}
