import { expect } from 'chai';
import type { BalancerSnapshot } from '../../../middleware/balancer.js';
import type { ServerSnapshot } from '../../../middleware/pool/server.js';
import { History } from '../../../dashboard/history.js';
import { auditView, dashboardView, drainText, poolView, reasonText, serverView } from '../../../dashboard/view-model.js';

/** A server snapshot as the balancer makes it, with `changes` on top. */
export function serverSnapshot(changes: Partial<ServerSnapshot> = {}): ServerSnapshot {
  return {
    id: 'a1',
    url: 'http://10.0.0.1:8080',
    backup: false,
    labels: {},
    state: 'active',
    eligible: true,
    health: 'healthy',
    flags: { check: 'off', ejected: false, ejectedUntil: null, ejections: 0 },
    weight: 1,
    effectiveWeight: 1,
    slowStart: false,
    active: 0,
    drainDeadline: null,
    rev: 0,
    sessions: { pinned: 0, repinned: 0 },
    checks: [],
    requests: 0,
    statuses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 },
    errors: { connect: 0, timeout: 0, reset: 0, invalid: 0, http5xx: 0, http4xx: 0 },
    bytesIn: 0,
    bytesOut: 0,
    rps: 0,
    latencyMs: { p50: null, p95: null, p99: null },
    latency: { bounds: [0.1, 1], counts: [0, 0], sumSeconds: 0, count: 0 },
    ...changes,
  };
}

function balancerSnapshot(at: number, servers: ServerSnapshot[]): BalancerSnapshot {
  return { at, instance: 'test', revision: 0, pools: { api: { name: 'api', algorithm: 'round-robin', sticky: false, eligible: servers.length, panic: false, retrying: 0, queue: emptyQueue(), servers } } };
}

export function emptyQueue() {
  return { depth: 0, size: 1024, timeoutMs: 5000, admitted: 0, expired: 0, rejected: 0, meanWaitMs: 0, maxWaitMs: 0 };
}

describe('dashboard view model', () => {
  describe('reasonText: why a server is in or out', () => {
    it('puts a passive ejection first', () => {
      const server = serverSnapshot({ health: 'unhealthy', flags: { check: 'healthy', ejected: true, ejectedUntil: Date.UTC(2025, 0, 1, 12, 0, 30), ejections: 2 }, checks: [{ at: 0, ok: true, reason: 'status 200' }] });
      expect(reasonText(server)).to.equal('ejected by passive checks until 12:00:30 UTC (2×)');
    });

    it('then the last check, passed or failed', () => {
      const checks = [{ at: 0, ok: true, reason: 'status 200' }, { at: 1, ok: false, reason: 'timeout after 2000 ms' }];
      expect(reasonText(serverSnapshot({ flags: { check: 'unhealthy', ejected: false, ejectedUntil: null, ejections: 0 }, checks }))).to.equal('failed: timeout after 2000 ms');
    });

    it('else what the check flag says', () => {
      expect(reasonText(serverSnapshot({ flags: { check: 'pending', ejected: false, ejectedUntil: null, ejections: 0 } }))).to.equal('waiting for the first check');
      expect(reasonText(serverSnapshot())).to.equal('no active check');
    });
  });

  describe('drainText', () => {
    it('shows what is in flight and the time left while draining', () => {
      expect(drainText(serverSnapshot({ state: 'draining', active: 3, drainDeadline: 20_000 }), 8_500)).to.equal('3 in flight · 12 s left');
      expect(drainText(serverSnapshot({ state: 'draining', active: 2, drainDeadline: 20_000 }), 21_000)).to.equal('2 in flight · deadline passed');
      expect(drainText(serverSnapshot({ state: 'draining', active: 0, drainDeadline: 20_000 }), 8_500), 'a finished drain').to.equal('drained');
      expect(drainText(serverSnapshot({ state: 'active' }), 0)).to.equal('');
    });
  });

  describe('serverView', () => {
    it('formats every cell as text', () => {
      const view = serverView('api', serverSnapshot({
        weight: 4, effectiveWeight: 1.3, slowStart: true, active: 2, rps: 12.345, requests: 200,
        errors: { connect: 1, timeout: 0, reset: 0, invalid: 0, http5xx: 1, http4xx: 7 },
        latencyMs: { p50: 3.21, p95: 40, p99: 123.4 }, sessions: { pinned: 5, repinned: 1 }, backup: true,
      }), null, 0, { recent: 0.416, configured: 0.5 });
      expect(view.cells).to.deep.equal({
        id: 'a1', role: 'backup', url: 'http://10.0.0.1:8080', state: 'active', drain: '', health: 'healthy', reason: 'no active check',
        weight: '4', effective: '1.3 ↗', share: '42%', configured: '50%', active: '2', rps: '12.3', errors: '1.0 %', p50: '3.2 ms', p99: '123 ms', sessions: '5',
      });
      expect(view.titles.errors).to.contain('4xx 7 not counted');
    });

    it('shows a dash where there is nothing to show yet', () => {
      const { cells } = serverView('api', serverSnapshot(), null, 0);
      expect([cells.errors, cells.p50, cells.p99, cells.share]).to.deep.equal(['–', '–', '–', '–']);
    });
  });

  describe('History', () => {
    it('keeps the last `length` rps samples per server, and forgets removed servers', () => {
      const history = new History(3);
      for (let i = 1; i <= 5; i++) history.record(balancerSnapshot(i * 1000, [serverSnapshot({ rps: i }), serverSnapshot({ id: 'a2', rps: 10 * i })]));
      expect(history.trend('api', 'a1')).to.deep.equal([3, 4, 5]);
      expect(history.trend('api', 'a2')).to.deep.equal([30, 40, 50]);
      history.record(balancerSnapshot(6000, [serverSnapshot({ rps: 6 })]));
      expect(history.trend('api', 'a2')).to.deep.equal([]);
    });

    it('gives the error rate of the last ten seconds, not of all time', () => {
      const history = new History();
      const errors = (http5xx: number) => ({ connect: 0, timeout: 0, reset: 0, invalid: 0, http5xx, http4xx: 0 });
      history.record(balancerSnapshot(0, [serverSnapshot({ requests: 1000, errors: errors(500) })]));
      history.record(balancerSnapshot(5000, [serverSnapshot({ requests: 1100, errors: errors(500) })]));
      const now = serverSnapshot({ requests: 1200, errors: errors(510) });
      expect(history.errorRate('api', now, 12_000)).to.equal(0.1); // 10 of the last 100
      expect(history.errorRate('api', now, 60_000)).to.equal(510 / 1200); // no sample in the window: all time
      expect(history.errorRate('api', serverSnapshot({ requests: 1100, errors: errors(500) }), 12_000)).to.equal(null);
    });
  });

  it('dashboardView carries the audit log only when given', () => {
    const snapshot = balancerSnapshot(Date.UTC(2025, 0, 1, 8, 5, 9), [serverSnapshot()]);
    const entry = { seq: 1, at: Date.UTC(2025, 0, 1, 8, 5, 0), user: 'ops', address: '::1', origin: 'local' as const, revision: 1, action: 'add' as const, pool: 'api', server: 'a9', before: null, after: { url: 'http://x', weight: 1 } };
    const full = dashboardView(snapshot, null, [entry], 1);
    expect(full.time).to.equal('08:05:09 UTC');
    expect(full.audit).to.deep.equal([{ seq: 1, time: '08:05:00 UTC', user: 'ops', action: 'add', target: 'api / a9', change: '– → {"url":"http://x","weight":1}' }]);
    expect(dashboardView(snapshot, null, null, 1)).not.to.have.property('audit');
    expect(auditView({ ...entry, action: 'weight', before: 1, after: 0 }).change).to.equal('1 → 0');
    expect(full.pools[0]!.summary).to.equal('1/1 eligible · round-robin · 0.0 rps');
  });

  it('says in the pool summary when the pool is in panic and when requests wait in its queue', () => {
    const snapshot = balancerSnapshot(0, [serverSnapshot()]);
    const pool = snapshot.pools.api!;
    const queue = { ...pool.queue, depth: 7, size: 500, meanWaitMs: 12.4, expired: 2, rejected: 1 };
    const summary = poolView({ ...pool, panic: true, queue }, null, 0).summary;
    expect(summary).to.contain('PANIC: balancing over all servers');
    expect(summary).to.contain('queue 7/500, wait mean 12 ms, 2 expired, 1 refused');
    expect(poolView(pool, null, 0).summary).not.to.match(/PANIC|queue/);
  });
});
