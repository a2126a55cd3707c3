import { expect } from 'chai';
import { AuditLog, type AuditEntry } from '../../../middleware/control/audit.js';
import type { Commit } from '../../../middleware/control/changes.js';
import { recordOf } from '../../../middleware/control/records.js';

const record = (weight: number, rev: number) => ({ ...recordOf({ id: 'a1', url: 'http://127.0.0.1:1', weight, backup: false, labels: {} }), rev });

function weightChange(to: number, at = Date.now()): Commit {
  return { pool: 'api', revision: to, origin: 'local', instance: 'i', actor: { user: 'ops', address: '::1' }, at, changes: [{ id: 'a1', before: record(to - 1, to - 1), after: record(to, to) }] };
}

describe('AuditLog', () => {
  it('keeps the newest `size` entries, newest first, numbered from 1', () => {
    const log = new AuditLog(3);
    expect(log.seq).to.equal(0);
    for (let i = 1; i <= 5; i++) log.recordCommit(weightChange(i, 1000 + i));
    expect(log.seq).to.equal(5);
    expect(log.recent().map((e) => [e.seq, e.after, e.at, e.revision])).to.deep.equal([[5, 5, 1005, 5], [4, 4, 1004, 4], [3, 3, 1003, 3]]);
    expect(log.recent(1).map((e) => e.seq)).to.deep.equal([5]);
    expect(log.recent(1)[0]).to.include({ user: 'ops', address: '::1', action: 'weight', pool: 'api', server: 'a1', origin: 'local' });
  });

  it('hands every entry to its subscribers, frozen, and survives one that throws', () => {
    const seen: AuditEntry[] = [];
    const log = new AuditLog(2);
    log.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    const unsubscribe = log.subscribe((e) => seen.push(e));
    log.recordCommit(weightChange(1));
    expect(seen).to.have.length(1);
    expect(Object.isFrozen(seen[0])).to.equal(true);
    unsubscribe();
    log.recordCommit(weightChange(2));
    expect(seen).to.have.length(1);
  });

  it('names the action of each kind of change', () => {
    const log = new AuditLog();
    const base = record(1, 1);
    const commit = (before: typeof base | null, after: typeof base | null): Commit => ({ pool: 'api', revision: 9, origin: 'remote', instance: 'j', actor: undefined, at: 1, changes: [{ id: 'a1', before, after }] });
    log.recordCommit(commit(null, base));
    log.recordCommit(commit(base, { ...base, admin: 'draining', drain: { id: 'd', deadline: 5 } }));
    log.recordCommit(commit(base, { ...base, admin: 'removing', drain: { id: 'd', deadline: 5 } }));
    log.recordCommit(commit(base, { ...base, admin: 'disabled' }));
    log.recordCommit(commit({ ...base, admin: 'disabled' }, base));
    log.recordCommit(commit(base, { ...base, labels: { version: 'v2' } }));
    log.recordCommit(commit(base, null));
    expect(log.recent().reverse().map((e) => e.action)).to.deep.equal(['add', 'drain', 'remove', 'disable', 'enable', 'labels', 'removed']);
    expect(log.recent()[0]).to.include({ user: 'code', origin: 'remote' });
  });
});
