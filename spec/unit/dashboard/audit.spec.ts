import { expect } from 'chai';
import { AuditLog, type AuditEntry } from '../../../dashboard/audit.js';

describe('dashboard AuditLog', () => {
  const entry = (after: number) => ({ user: 'ops', address: '::1', action: 'weight' as const, pool: 'api', server: 'a1', before: after - 1, after });

  it('keeps the newest `size` entries, newest first, numbered from 1', () => {
    const log = new AuditLog(3);
    expect(log.seq).to.equal(0);
    for (let i = 1; i <= 5; i++) log.record(entry(i), 1000 + i);
    expect(log.seq).to.equal(5);
    expect(log.recent().map((e) => [e.seq, e.after, e.at])).to.deep.equal([[5, 5, 1005], [4, 4, 1004], [3, 3, 1003]]);
    expect(log.recent(1).map((e) => e.seq)).to.deep.equal([5]);
  });

  it('hands every entry to the listener, frozen', () => {
    const seen: AuditEntry[] = [];
    const log = new AuditLog(2, (e) => seen.push(e));
    log.record(entry(1));
    expect(seen).to.have.length(1);
    expect(Object.isFrozen(seen[0])).to.equal(true);
  });
});
