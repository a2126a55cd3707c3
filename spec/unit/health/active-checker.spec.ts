import { expect } from 'chai';
import { ActiveChecker } from '../../../middleware/health/active-checker.js';
import { silentLogger, type Logger } from '../../../middleware/logger.js';
import { normalizeOptions, type HealthCheckOptions } from '../../../middleware/options.js';
import type { HealthEvent, Pool } from '../../../middleware/pool/pool.js';
import { barePool } from '../../support/pools.js';
import { refusedUrl, startBackend, type Backend, type Handler } from '../../support/backends.js';
import { sleep, waitFor } from '../../support/wait.js';

/** A change event, with what the pool looked like at the moment it was emitted. */
interface Seen extends HealthEvent {
  /** The server's recent probe results (oldest first) when the event came out. */
  results: boolean[];
  eligible: string[];
}



function recordingLogger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, warn: (message) => warnings.push(message), error: (message) => errors.push(message) };
}

describe('ActiveChecker', () => {
  const backends: Backend[] = [];
  const checkers: ActiveChecker[] = [];

  async function backend(handler: Handler): Promise<Backend> {
    const started = await startBackend(`b${backends.length + 1}`, handler);
    backends.push(started);
    return started;
  }

  /** A real pool (passive health off) whose servers a real checker watches. */
  function checked(
    servers: Array<{ id: string; url: string }>,
    healthCheck: HealthCheckOptions,
    options: { logger?: Logger; emit?: (event: HealthEvent) => void } = {},
  ): { pool: Pool; checker: ActiveChecker; events: Seen[] } {
    const config = normalizeOptions({ pools: { api: { servers, healthCheck, passiveHealth: false, panicThreshold: 0 } }, logger: silentLogger }).pools[0]!;
    const events: Seen[] = [];
    const pool: Pool = barePool(config, (event) => {
      const server = pool.get(event.server)!;
      events.push({ ...event, results: server.checks.map((c) => c.ok), eligible: pool.eligible.map((s) => s.id) });
      options.emit?.(event);
    });
    const checker = new ActiveChecker(config.healthCheck!, { tls: config.tls, logger: options.logger ?? silentLogger, pool: 'api' });
    checkers.push(checker);
    for (const server of pool.servers) checker.watch(server);
    return { pool, checker, events };
  }

  afterEach(async () => {
    for (const checker of checkers.splice(0)) checker.close();
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  it('turns unhealthy on the third failed probe, not the second, and healthy again on the second success', async () => {
    let status = 200;
    const b = await backend((req, res) => {
      res.writeHead(status);
      res.end();
    });
    const logger = recordingLogger();
    const { pool, events } = checked([{ id: 'a', url: b.url }], { type: 'http', path: '/health', intervalMs: 60, timeoutMs: 50, jitter: 0, unhealthyThreshold: 3, healthyThreshold: 2 }, { logger });
    const server = pool.get('a')!;

    await waitFor('the first check', () => server.check === 'healthy');
    status = 500;
    await waitFor('the server to turn unhealthy', () => server.check === 'unhealthy');
    status = 200;
    await waitFor('the server to recover', () => server.check === 'healthy');

    expect(events.map(({ before, after, reason }) => ({ before, after, reason }))).to.deep.equal([
      { before: 'unhealthy', after: 'healthy', reason: 'ok 200 (first check)' },
      { before: 'healthy', after: 'unhealthy', reason: 'status 500 (3 in a row)' },
      { before: 'unhealthy', after: 'healthy', reason: 'ok 200 (2 in a row)' },
    ]);
    // a new server is admitted on its very first pass (DESIGN.md), not after healthyThreshold
    expect(events[0]!.results.at(-1)).to.equal(true);
    expect(events[0]!.results.filter((ok) => ok)).to.have.length(1);
    // exactly three failures after a pass, then exactly two passes after a failure
    expect(events[1]!.results.slice(-4)).to.deep.equal([true, false, false, false]);
    expect(events[2]!.results.slice(-3)).to.deep.equal([false, true, true]);
    expect(events.map((e) => e.eligible)).to.deep.equal([['a'], [], ['a']]);
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0]).to.match(/api\/a is unhealthy: status 500 \(3 in a row\)/);
  });

  it('keeps a new server out until its first pass, and marks it unhealthy after unhealthyThreshold failures', async () => {
    const { pool, events } = checked([{ id: 'a', url: await refusedUrl() }], { type: 'tcp', intervalMs: 60, timeoutMs: 45, unhealthyThreshold: 3 });
    const server = pool.get('a')!;
    expect(server.check).to.equal('pending');
    expect(pool.eligible).to.have.length(0);
    await waitFor('two probes', () => server.checks.length >= 2);
    expect(server.check).to.equal('pending');
    await waitFor('three probes', () => server.checks.length >= 3);
    expect(server.check).to.equal('unhealthy');
    expect(server.checks.map((c) => c.ok).slice(0, 3)).to.deep.equal([false, false, false]);
    expect(server.checks[0]!.reason).to.equal('ECONNREFUSED');
    expect(events).to.deep.equal([], 'a pending server was never eligible: no health change to report');
  });

  it('catches a server that accepts TCP but never answers with http, and not with tcp', async () => {
    const hanging = await backend(() => {});
    const http = checked([{ id: 'a', url: hanging.url }], { type: 'http', intervalMs: 60, timeoutMs: 45, unhealthyThreshold: 2 });
    const tcp = checked([{ id: 'a', url: hanging.url }], { type: 'tcp', intervalMs: 60, timeoutMs: 45, unhealthyThreshold: 2 });
    await waitFor('the http check to give up', () => http.pool.get('a')!.check === 'unhealthy');
    expect(http.pool.get('a')!.checks[0]).to.include({ ok: false, reason: 'timeout after 45 ms' });
    expect(tcp.pool.get('a')!.check).to.equal('healthy');
    expect(tcp.pool.get('a')!.checks.every((c) => c.ok && c.reason === 'connected')).to.equal(true);
  });

  it('never starts a probe before the previous one of the same server has finished', async () => {
    let arrivals = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let answered = 0;
    let cut = 0;
    const b = await backend((req, res) => {
      arrivals++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // mostly past the 75 ms timeout (cut by the checker), every third one just inside it
      const timer = setTimeout(() => res.end('ok'), arrivals % 3 === 0 ? 60 : 150);
      res.on('close', () => {
        clearTimeout(timer);
        inFlight--;
        if (res.writableFinished) answered++;
        else cut++;
      });
    });
    // jitter 0.5 may bring the next probe 40 ms after the last: a start-to-start timer would
    // start it while a 75 ms probe is still running about half the time
    checked([{ id: 'a', url: b.url }], { type: 'http', intervalMs: 80, timeoutMs: 75, jitter: 0.5 });
    await waitFor('twelve probes', () => arrivals >= 12 && inFlight === 0, 8000);
    expect(maxInFlight).to.equal(1);
    expect(answered).to.be.at.least(3);
    expect(cut).to.be.at.least(6);
  });

  it('spreads probes by jitter around the interval', async () => {
    const arrivals: number[] = [];
    const b = await backend((req, res) => {
      arrivals.push(performance.now());
      res.end();
    });
    checked([{ id: 'a', url: b.url }], { type: 'http', intervalMs: 60, timeoutMs: 30, jitter: 0.5 });
    await waitFor('thirteen probes', () => arrivals.length >= 13, 5000);
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    // 60 ms ± 30 ms, plus the probe's own few milliseconds
    expect(Math.min(...gaps)).to.be.at.least(28);
    expect(Math.max(...gaps)).to.be.below(150);
    expect(Math.max(...gaps) - Math.min(...gaps)).to.be.above(15, 'probes came at a fixed interval: jitter ignored');
  });

  it('unwatch aborts a probe in flight and schedules no other', async () => {
    let arrivals = 0;
    let cut = 0;
    const b = await backend((req, res) => {
      arrivals++;
      const timer = setTimeout(() => res.end('ok'), 60);
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished) cut++;
      });
    });
    const { pool, checker } = checked([{ id: 'a', url: b.url }], { type: 'http', intervalMs: 100, timeoutMs: 80 });
    await waitFor('the first probe to arrive', () => arrivals === 1);
    checker.unwatch(pool.get('a')!);
    await waitFor('the probe connection to be cut', () => cut === 1);
    await sleep(250);
    expect(arrivals).to.equal(1);
    expect(pool.get('a')!.checks).to.deep.equal([], 'an aborted probe is no verdict');
    expect(pool.get('a')!.check).to.equal('pending');
    expect(checker.size).to.equal(0);
  });

  it('close() stops every server, idle or probing', async () => {
    const hits = [0, 0];
    const fast = await backend((req, res) => {
      hits[0]!++;
      res.end();
    });
    const slow = await backend((req, res) => {
      hits[1]!++;
      setTimeout(() => res.end(), 25);
    });
    const { pool, checker } = checked([{ id: 'fast', url: fast.url }, { id: 'slow', url: slow.url }], { type: 'http', intervalMs: 40, timeoutMs: 30 });
    await waitFor('a few probes each', () => hits[0]! >= 3 && hits[1]! >= 3);
    checker.close();
    checker.watch(pool.get('fast')!); // e.g. a server added to a pool being closed
    const after = [...hits];
    await sleep(200);
    expect(hits).to.deep.equal(after);
    expect(checker.size).to.equal(0);
  });

  it('readmits a passively ejected server early on a passed probe', async () => {
    const b = await backend((req, res) => res.end('ok'));
    const { pool, events } = checked([{ id: 'a', url: b.url }], { type: 'http', intervalMs: 40, timeoutMs: 30 });
    const server = pool.get('a')!;
    await waitFor('the first check', () => server.check === 'healthy');
    server.eject(Date.now() + 60_000, 'ejected for the test');
    expect(pool.eligible).to.have.length(0);
    await waitFor('an early readmission', () => !server.ejected, 500);
    expect(events.slice(-2).map(({ after, reason }) => ({ after, reason }))).to.deep.equal([
      { after: 'unhealthy', reason: 'ejected for the test' },
      { after: 'healthy', reason: 'passed active check' },
    ]);
    expect(pool.eligible.map((s) => s.id)).to.deep.equal(['a']);
  });

  it('keeps checking when a change listener throws, and logs it', async () => {
    let status = 200;
    const b = await backend((req, res) => {
      res.writeHead(status);
      res.end();
    });
    const logger = recordingLogger();
    const { pool } = checked([{ id: 'a', url: b.url }], { type: 'http', intervalMs: 40, timeoutMs: 30, unhealthyThreshold: 1 }, {
      logger,
      emit: () => {
        throw new Error('listener bug');
      },
    });
    const server = pool.get('a')!;
    await waitFor('the first check', () => server.check === 'healthy');
    status = 503;
    await waitFor('the next verdict, despite the listener', () => server.check === 'unhealthy');
    expect(logger.errors.length).to.be.at.least(2);
    expect(logger.errors[0]).to.match(/api\/a: a listener threw/);
  });
});
