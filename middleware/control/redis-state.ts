import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Commit, StateSnapshot } from './changes.js';
import { freezeRecord, isServerRecord, type ServerRecord } from './records.js';

/** Pools → records, in membership order: what this instance last applied. */
export type Mirror = Map<string, Map<string, ServerRecord>>;

export function mirrorOf(state: StateSnapshot): Mirror {
  return new Map(Object.entries(state.pools).map(([pool, records]) => [pool, new Map(records.map((record) => [record.id, record]))]));
}

export function snapshotOf(mirror: Mirror, revision: number): StateSnapshot {
  const pools: Record<string, ServerRecord[]> = {};
  for (const [pool, records] of mirror) pools[pool] = [...records.values()];
  return { revision, pools };
}

/** Apply a commit to the mirror by the same rule as the control plane: a record never goes back to an older rev. */
export function applyToMirror(mirror: Mirror, commit: Commit): void {
  const records = mirror.get(commit.pool);
  if (!records) return;
  for (const change of commit.changes) {
    const local = records.get(change.id);
    if (local && local.rev >= commit.revision) continue;
    if (change.after === null) records.delete(change.id);
    else records.set(change.id, change.after);
  }
}

/** A record as the scripts store it: its JSON without `rev` and the closing brace (they append `,"rev":N}`). */
export function recordPrefix(record: Omit<ServerRecord, 'rev'> & { rev?: number }): string {
  const { rev: _rev, ...rest } = record;
  const json = JSON.stringify({ id: rest.id, url: rest.url, weight: rest.weight, backup: rest.backup, labels: rest.labels, admin: rest.admin, drain: rest.drain });
  return json.slice(0, -1);
}

/** Parse a pool hash (HGETALL's flat list) into records, ordered as `order` has them, newcomers last by rev. */
export function parsePool(flat: readonly string[], order: readonly string[]): ServerRecord[] {
  const records: ServerRecord[] = [];
  for (let i = 1; i < flat.length; i += 2) {
    const record = parseRecord(flat[i]!);
    if (record) records.push(record);
  }
  const index = new Map(order.map((id, i) => [id, i]));
  return records.sort((a, b) => (index.get(a.id) ?? Infinity) - (index.get(b.id) ?? Infinity) || a.rev - b.rev);
}

export function parseRecord(json: string): ServerRecord | null {
  try {
    const value: unknown = JSON.parse(json);
    return isServerRecord(value) ? freezeRecord(value) : null;
  } catch {
    return null;
  }
}

/** A commit as a script wrote it; frozen records, or null when it is not one. */
export function parseCommit(json: string): Commit | null {
  try {
    const value = JSON.parse(json) as Commit;
    if (typeof value.pool !== 'string' || typeof value.revision !== 'number' || !Array.isArray(value.changes)) return null;
    const changes = value.changes.map((change) => ({
      id: change.id,
      before: change.before && isServerRecord(change.before) ? freezeRecord(change.before) : null,
      after: change.after && isServerRecord(change.after) ? freezeRecord(change.after) : null,
    }));
    return { ...value, changes };
  } catch {
    return null;
  }
}

/** The local snapshot file, if there is a readable one: what to serve when Redis is away at start. */
export function readSnapshotFile(file: string): StateSnapshot | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as StateSnapshot;
    if (typeof value.revision !== 'number' || typeof value.pools !== 'object' || value.pools === null) return null;
    const pools: Record<string, ServerRecord[]> = {};
    for (const [pool, records] of Object.entries(value.pools)) {
      if (!Array.isArray(records)) return null;
      pools[pool] = records.filter(isServerRecord).map(freezeRecord);
    }
    return { revision: value.revision, pools };
  } catch {
    return null;
  }
}

/** Write to a temporary name, then rename: a crash mid-write never leaves half a file. */
export async function writeSnapshotFile(file: string, state: StateSnapshot): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(state));
  await rename(temporary, file);
}
