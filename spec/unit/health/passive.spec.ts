import { expect } from 'chai';
import { unlinked } from '../../../middleware/pool/in-flight.js';
import { PassiveHealth } from '../../../middleware/health/passive.js';
import { silentLogger, type Logger } from '../../../middleware/logger.js';
import { normalizeOptions, type PassiveHealthOptions } from '../../../middleware/options.js';
import type { HealthEvent } from '../../../middleware/pool/pool.js';
import { barePool, removeFrom } from '../../support/pools.js';
import type { Pool } from '../../../middleware/pool/pool.js';
import type { Server } from '../../../middleware/pool/server.js';
import type { Outcome } from '../../../middleware/stats/server-stats.js';
import { sleep, waitFor } from '../../support/wait.js';



describe('PassiveHealth', () => {
  const opened: PassiveHealth[] = [];
  afterEach(() => {
    for (const passive of opened.splice(0)) passive.close();
  });

  /** A real pool of `count` servers with passive health attached the way the balancer does it. */
  function passivePool(options: PassiveHealthOptions, count = 4, logger: Logger = silentLogger, extra: { backups?: number; slowStartMs?: number } = {}): { pool: Pool; passive: PassiveHealth; events: HealthEvent[]; servers: Server[] } {
    // the servers never receive traffic here: outcomes are what a forwarder would report
    const servers = Array.from({ length: count + (extra.backups ?? 0) }, (_, i) => ({ id: `s${i + 1}`, url: `http://127.0.0.1:${40001 + i}`, backup: i >= count }));
    const config = normalizeOptions({ pools: { api: { servers, passiveHealth: options, slowStartMs: extra.slowStartMs ?? 0 } }, logger: silentLogger }).pools[0]!;
    const events: HealthEvent[] = [];
    const pool = barePool(config, (event) => events.push(event));
    const passive = new PassiveHealth(config.passiveHealth!, { logger, pool: 'api' });
    opened.push(passive);
    pool.useHealth(passive);
    return { pool, passive, events, servers: [...pool.servers] };
  }

  /** Finish requests on a server through the pool, as the forwarder does: acquire, then release with an outcome. */
  function finish(pool: Pool, server: Server, ...outcomes: Outcome[]): void {
    for (const outcome of outcomes) {
      const handle = { abort: () => {}, ...unlinked() };
      pool.acquire(server, handle);
      pool.release(server, handle, outcome);
    }
  }

  const times = (n: number, outcome: Outcome): Outcome[] => Array.from({ length: n }, () => outcome);

  it('ejects after consecutiveFailures connect errors, timeouts or resets', () => {
    const { pool, events, servers } = passivePool({ consecutiveFailures: 3, baseEjectionMs: 10_000 });
    const [a, b] = servers as [Server, Server];
    finish(pool, a, 'connect', 'connect');
    expect(a.ejected).to.equal(false);
    finish(pool, a, 'connect');
    expect(a.ejected).to.equal(true);
    expect(a.health).to.equal('unhealthy');
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['s2', 's3', 's4']);
    finish(pool, b, 'timeout', 'reset', 'connect');
    expect(b.ejected).to.equal(true);
    expect(events.map(({ server, after, reason }) => ({ server, after, reason }))).to.deep.equal([
      { server: 's1', after: 'unhealthy', reason: '3 consecutive failures (last: connect); ejected for 10000 ms' },
      { server: 's2', after: 'unhealthy', reason: '3 consecutive failures (last: connect); ejected for 10000 ms' },
    ]);
  });

  it('ignores 5xx by default and counts them with include5xx', () => {
    const off = passivePool({ consecutiveFailures: 3 });
    finish(off.pool, off.servers[0]!, ...times(10, 'http5xx'));
    expect(off.servers[0]!.ejected).to.equal(false);
    // an uncounted 5xx is still an answer: it breaks a run of connect errors
    finish(off.pool, off.servers[0]!, 'connect', 'connect', 'http5xx', 'connect');
    expect(off.servers[0]!.ejected).to.equal(false);

    const on = passivePool({ consecutiveFailures: 3, include5xx: true });
    finish(on.pool, on.servers[0]!, 'http5xx', 'http5xx');
    expect(on.servers[0]!.ejected).to.equal(false);
    finish(on.pool, on.servers[0]!, 'http5xx');
    expect(on.servers[0]!.ejected).to.equal(true);
  });

  it('resets the count on a success or a 4xx, and ignores requests the client aborted', () => {
    const { pool, servers } = passivePool({ consecutiveFailures: 3 });
    const [a, b, c] = servers as [Server, Server, Server];
    finish(pool, a, 'connect', 'connect', 'ok', 'connect', 'connect');
    expect(a.ejected).to.equal(false);
    finish(pool, a, 'connect');
    expect(a.ejected).to.equal(true);

    finish(pool, b, 'connect', 'connect', 'http4xx', 'connect', 'connect');
    expect(b.ejected).to.equal(false);

    finish(pool, c, 'connect', 'connect', 'aborted');
    expect(c.ejected).to.equal(false);
    finish(pool, c, 'connect');
    expect(c.ejected).to.equal(true, 'an aborted request neither counts nor resets');
  });

  it('readmits at the end of the ejection, and failures meanwhile do not stretch it', async () => {
    const { pool, events, servers } = passivePool({ consecutiveFailures: 2, baseEjectionMs: 80 });
    const a = servers[0]!;
    finish(pool, a, 'connect', 'connect');
    const until = a.ejectedUntil;
    finish(pool, a, ...times(5, 'timeout')); // late answers from requests sent before the ejection
    expect(a.ejectedUntil).to.equal(until);
    await waitFor('the readmission', () => !a.ejected);
    expect(Date.now()).to.be.at.least(until - 1);
    expect(events.map(({ after, reason }) => ({ after, reason }))).to.deep.equal([
      { after: 'unhealthy', reason: '2 consecutive failures (last: connect); ejected for 80 ms' },
      { after: 'healthy', reason: 'ejection time over' },
    ]);
    expect(pool.eligible.map((s) => s.id)).to.include('s1');
    // the count started over: one failure after readmission is not enough
    finish(pool, a, 'connect');
    expect(a.ejected).to.equal(false);
  });

  it('ejects for longer each time, up to maxEjectionMs', async () => {
    const { pool, servers } = passivePool({ consecutiveFailures: 1, baseEjectionMs: 40, maxEjectionMs: 100 });
    const a = servers[0]!;
    for (let i = 0; i < 4; i++) {
      const before = Date.now();
      finish(pool, a, 'connect');
      const after = Date.now();
      expect(a.ejected).to.equal(true);
      // until = now + duration, with now somewhere in [before, after]
      const duration = [40, 80, 100, 100][i]!;
      expect(a.ejectedUntil - before).to.be.at.least(duration);
      expect(a.ejectedUntil - after).to.be.at.most(duration);
      await waitFor('the readmission', () => !a.ejected);
    }
    expect(a.ejections).to.equal(4);
  });

  it('never ejects more than maxEjectedPercent of the pool, and warns once when it holds back', () => {
    const warnings: string[] = [];
    const logger: Logger = { warn: (message) => warnings.push(message), error: () => {} };
    const { pool, servers } = passivePool({ consecutiveFailures: 2, maxEjectedPercent: 50, baseEjectionMs: 10_000 }, 4, logger);
    const [a, b, c, d] = servers as [Server, Server, Server, Server];
    finish(pool, a, 'connect', 'connect');
    finish(pool, b, 'connect', 'connect');
    expect([a.ejected, b.ejected]).to.deep.equal([true, true]);
    finish(pool, c, ...times(6, 'connect'));
    expect(c.ejected).to.equal(false, '3 of 4 would be 75%');
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['s3', 's4']);
    expect(warnings.filter((w) => /api\/s3 .*maxEjectedPercent \(50%\)/.test(w))).to.have.length(1);
    // room again once one is back
    a.readmit('test');
    finish(pool, c, 'connect', 'connect');
    expect(c.ejected).to.equal(true);
    expect(d.ejected).to.equal(false);
  });

  it('never ejects the only server at the default 50%, but may at 100%', () => {
    const lone = passivePool({ consecutiveFailures: 2 }, 1);
    finish(lone.pool, lone.servers[0]!, ...times(20, 'connect'));
    expect(lone.servers[0]!.ejected).to.equal(false);
    expect(lone.pool.eligible).to.have.length(1);

    const all = passivePool({ consecutiveFailures: 2, maxEjectedPercent: 100 }, 1);
    finish(all.pool, all.servers[0]!, 'connect', 'connect');
    expect(all.servers[0]!.ejected).to.equal(true);
  });

  it('after an early readmission, the old timer does not cut a later ejection short', async () => {
    const { pool, events, servers } = passivePool({ consecutiveFailures: 1, baseEjectionMs: 80 });
    const a = servers[0]!;
    finish(pool, a, 'connect'); // out for 80 ms
    a.readmit('passed active check'); // what the active checker does on a passed probe
    finish(pool, a, 'connect'); // out again, for 160 ms
    const until = a.ejectedUntil;
    await sleep(120); // the first ejection's end has passed
    expect(a.ejected).to.equal(true);
    await waitFor('the second readmission', () => !a.ejected);
    expect(Date.now()).to.be.at.least(until - 1);
    expect(events.map((e) => e.reason)).to.deep.equal([
      '1 consecutive failure (last: connect); ejected for 80 ms',
      'passed active check',
      '1 consecutive failure (last: connect); ejected for 160 ms',
      'ejection time over',
    ]);
  });

  it('close() clears readmission timers and stops counting', async () => {
    const { pool, passive, servers } = passivePool({ consecutiveFailures: 1, baseEjectionMs: 40 });
    const [a, b] = servers as [Server, Server];
    finish(pool, a, 'connect');
    passive.close();
    await sleep(100);
    expect(a.ejected).to.equal(true, 'no timer left to readmit it');
    finish(pool, b, 'connect');
    expect(b.ejected).to.equal(false);
    passive.watch(b); // e.g. a server added to a pool being closed
    finish(pool, b, 'connect');
    expect(b.ejected).to.equal(false);
  });

  it('lets every dead primary go when a backup can take over: backups do not count toward maxEjectedPercent', () => {
    // the README's pool: two primaries and a backup, both primaries dead
    const { pool, servers } = passivePool({ consecutiveFailures: 2, maxEjectedPercent: 50, baseEjectionMs: 10_000 }, 2, silentLogger, { backups: 1 });
    const [a, b, backup] = servers as [Server, Server, Server];
    finish(pool, a, 'connect', 'connect');
    finish(pool, b, 'connect', 'connect');
    expect([a.ejected, b.ejected]).to.deep.equal([true, true]);
    expect(pool.eligible).to.deep.equal([backup]);
    // without a backup the cap holds: one of two primaries stays in
    const bare = passivePool({ consecutiveFailures: 2, maxEjectedPercent: 50, baseEjectionMs: 10_000 }, 2);
    finish(bare.pool, bare.servers[0]!, 'connect', 'connect');
    finish(bare.pool, bare.servers[1]!, 'connect', 'connect');
    expect(bare.servers.map((server) => server.ejected)).to.deep.equal([true, false]);
  });

  it('ramps a server readmitted after an ejection (slow start), as one that turned healthy', async () => {
    const { pool, servers } = passivePool({ consecutiveFailures: 1, baseEjectionMs: 50 }, 2, silentLogger, { slowStartMs: 10_000 });
    const [a] = servers as [Server];
    expect(a.effectiveWeight(), 'a configured server takes no ramp').to.equal(1);
    finish(pool, a, 'connect');
    expect(a.ejected).to.equal(true);
    await waitFor('the readmission', () => !a.ejected, 2000);
    expect(a.inSlowStart()).to.equal(true);
    expect(a.effectiveWeight()).to.be.below(0.2);
  });

  it('forgets a removed server: it no longer counts towards the pool size', async () => {
    const { pool, servers } = passivePool({ consecutiveFailures: 1, maxEjectedPercent: 50, baseEjectionMs: 10_000 }, 2);
    removeFrom(pool, 's2');
    finish(pool, servers[0]!, 'connect');
    expect(servers[0]!.ejected).to.equal(false, '1 of 1 is 100%');
  });
});
