import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { createPoolHealth } from '../../../middleware/health/index.js';
import { unlinked } from '../../../middleware/pool/in-flight.js';
import { silentLogger } from '../../../middleware/logger.js';
import { normalizeOptions, type PoolOptions } from '../../../middleware/options.js';
import type { HealthEvent, Pool, PoolHealth } from '../../../middleware/pool/pool.js';
import { addTo, barePool, removeFrom } from '../../support/pools.js';
import type { Server } from '../../../middleware/pool/server.js';
import type { Outcome } from '../../../middleware/stats/server-stats.js';
import { refusedUrl, startBackend, type Backend } from '../../support/backends.js';
import { sleep, waitFor } from '../../support/wait.js';



function finish(pool: Pool, server: Server, ...outcomes: Outcome[]): void {
  for (const outcome of outcomes) {
    const handle = { abort: () => {}, ...unlinked() };
    pool.acquire(server, handle);
    pool.release(server, handle, outcome);
  }
}

describe('createPoolHealth', () => {
  const backends: Backend[] = [];
  const healths: PoolHealth[] = [];

  /** A real pool with its health wired as the balancer wires it: `pool.useHealth(createPoolHealth(pool, logger))`. */
  function wired(options: PoolOptions): { pool: Pool; events: HealthEvent[] } {
    const config = normalizeOptions({ pools: { api: options }, logger: silentLogger }).pools[0]!;
    const events: HealthEvent[] = [];
    const pool = barePool(config, (event) => events.push(event));
    const health = createPoolHealth(pool, silentLogger);
    if (health) {
      healths.push(health);
      pool.useHealth(health);
    }
    return { pool, events };
  }

  afterEach(async () => {
    for (const health of healths.splice(0)) health.close();
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  it('is undefined for a pool with neither active checks nor passive health', () => {
    const servers = [{ id: 'a', url: 'http://127.0.0.1:1' }];
    const pool = (options: Partial<PoolOptions>): Pool => barePool(normalizeOptions({ pools: { api: { servers, ...options } } }).pools[0]!);
    expect(createPoolHealth(pool({ passiveHealth: false }), silentLogger)).to.equal(undefined);
    // passive health is on by default
    expect(createPoolHealth(pool({}), silentLogger)).to.be.an('object');
    const activeOnly = createPoolHealth(pool({ passiveHealth: false, healthCheck: { type: 'custom', check: () => true } }), silentLogger)!;
    expect(() => activeOnly.record(pool({}).servers[0]!, 'connect')).not.to.throw();
    activeOnly.close();
  });

  it('brings every health change out of the pool as a change event', async () => {
    let status = 200;
    const b = await startBackend('b1', (req, res) => {
      res.writeHead(status);
      res.end();
    });
    backends.push(b);
    const { pool, events } = wired({
      servers: [{ id: 'a', url: b.url }, { id: 'b', url: b.url }],
      healthCheck: { type: 'http', intervalMs: 60, timeoutMs: 50, jitter: 0, unhealthyThreshold: 3, healthyThreshold: 2 },
      passiveHealth: { consecutiveFailures: 2, baseEjectionMs: 60_000 },
    });
    const a = pool.get('a')!;
    await waitFor('both servers admitted', () => pool.eligible.length === 2);

    finish(pool, a, 'connect', 'connect'); // passive: out for a minute...
    expect(a.ejected).to.equal(true);
    await waitFor('the early readmission', () => !a.ejected, 500); // ...until the next passed probe
    status = 500;
    await waitFor('failed checks', () => a.check === 'unhealthy');
    status = 200;
    await waitFor('recovery', () => a.check === 'healthy');

    expect(events.filter((e) => e.server === 'a').map(({ before, after, reason }) => ({ before, after, reason }))).to.deep.equal([
      { before: 'unhealthy', after: 'healthy', reason: 'ok 200 (first check)' },
      { before: 'healthy', after: 'unhealthy', reason: '2 consecutive failures (last: connect); ejected for 60000 ms' },
      { before: 'unhealthy', after: 'healthy', reason: 'passed active check' },
      { before: 'healthy', after: 'unhealthy', reason: 'status 500 (3 in a row)' },
      { before: 'unhealthy', after: 'healthy', reason: 'ok 200 (2 in a row)' },
    ]);
    expect(events.every((e) => e.pool === 'api' && typeof e.at === 'number')).to.equal(true);
  });

  it('checks a server added at run time, and stops when it is removed', async () => {
    let hits = 0;
    const b = await startBackend('b1', (req, res) => {
      hits++;
      res.end();
    });
    backends.push(b);
    const { pool, events } = wired({ servers: [{ id: 'a', url: await refusedUrl() }], healthCheck: { type: 'http', intervalMs: 40, timeoutMs: 30 } });
    addTo(pool, { id: 'new', url: b.url });
    await waitFor('the new server to pass its first check', () => pool.get('new')?.check === 'healthy');
    removeFrom(pool, 'new');
    const before = hits;
    await sleep(150);
    expect(hits).to.equal(before);
    expect(events.map((e) => `${e.server} ${e.after}`)).to.deep.equal(['new healthy']);
  });

  it('lets a process exit on its own while checks run and a server is ejected (timers unref)', async () => {
    const url = await refusedUrl();
    const at = (path: string): string => JSON.stringify(resolve(__dirname, '../../../middleware', path));
    const script = `
      const { normalizeOptions } = require(${at('options.js')});
      const { Pool } = require(${at('pool/pool.js')});
      const { createPoolHealth } = require(${at('health/index.js')});
      const { silentLogger, safeLogger } = require(${at('logger.js')});
      const { Guard } = require(${at('guard.js')});
      const config = normalizeOptions({ logger: silentLogger, pools: { api: {
        servers: [{ id: 'a', url: '${url}' }, { id: 'b', url: '${url}' }],
        healthCheck: { type: 'tcp', intervalMs: 40, timeoutMs: 20 },
        passiveHealth: { consecutiveFailures: 1, baseEjectionMs: 600000 },
      } } }).pools[0];
      const noop = () => {};
      const pool = new Pool(config, { guard: new Guard(safeLogger(silentLogger)), emitHealth: noop, emitPanic: noop, reportDrain: noop, drainCancelled: noop, removalOverdue: noop });
      pool.useHealth(createPoolHealth(pool, silentLogger));
      const handle = { abort() {} };
      pool.acquire(pool.get('b'), handle);
      pool.release(pool.get('b'), handle, 'connect');
      setTimeout(() => console.log(JSON.stringify({ checks: pool.get('a').checks.length, ejected: pool.get('b').ejected })), 200);
    `;
    const started = Date.now();
    const output = await new Promise<string>((done, fail) =>
      execFile(process.execPath, ['-e', script], { timeout: 4000 }, (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout))),
    );
    expect(Date.now() - started).to.be.below(3000);
    const seen = JSON.parse(output) as { checks: number; ejected: boolean };
    expect(seen.checks).to.be.at.least(3, 'the checks were running');
    expect(seen.ejected).to.equal(true);
  });
});
