import { ControlError } from '../errors.js';
import type { AppliedChange, Commit, Write } from './changes.js';
import { freezeRecord, type ServerRecord } from './records.js';

/**
 * Apply a write to one pool's records, compare-and-set on each record's revision: all or
 * nothing. The in-memory store uses it as is; the Redis store runs the same rule in a script.
 */
export function applyWrite(records: Map<string, ServerRecord>, write: Write, revision: number): Commit {
  for (const { id, expectRev } of write.writes) {
    const current = records.get(id) ?? null;
    const currentRev = current === null ? null : current.rev;
    if (currentRev !== expectRev) {
      const what = current === null ? `server "${id}" is no longer in pool "${write.pool}"` : expectRev === null ? `server "${id}" already exists in pool "${write.pool}"` : `server "${id}" in pool "${write.pool}" was changed meanwhile (revision ${currentRev}, expected ${expectRev})`;
      throw new ControlError(`${what}; nothing was changed`, { code: 'CONFLICT', current });
    }
  }
  const changes: AppliedChange[] = [];
  for (const { id, after } of write.writes) {
    const before = records.get(id) ?? null;
    if (after === null) {
      records.delete(id);
      changes.push({ id, before, after: null });
    } else {
      const written = freezeRecord({ ...after, id, rev: revision });
      records.set(id, written);
      changes.push({ id, before, after: written });
    }
  }
  return { pool: write.pool, revision, origin: write.origin, instance: write.instance, actor: write.actor, at: write.at, changes };
}
