import { expect } from 'chai';
import express from 'express';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createBalancer, type Balancer, type BalancerOptions } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { packageRoot } from '../../dashboard/package-root.js';
import { listen, startBackends, type Backend } from '../support/backends.js';
import { send } from '../support/hosts.js';
import { answerNextDialog, launchBrowser, watchPage, type PageProblems } from '../support/browser.js';
import { requireTool } from '../support/ci-guard.js';
import { waitFor } from '../support/wait.js';
import { sleep, slowEcho, startLoad } from '../support/load.js';

const CREDENTIALS = { username: 'ops', password: 'browser-pass-long' };

interface Fixture {
  url: string;
  balancer: Balancer;
  dashboard: Dashboard;
  close(): Promise<void>;
}

/** An Express host with the dashboard at /admin and the balancer for everything else. */
async function startFixture(options: BalancerOptions): Promise<Fixture> {
  const balancer = createBalancer({ logger: silentLogger, ...options });
  const dashboard = createDashboard(balancer, { auth: CREDENTIALS });
  const app = express();
  app.use('/admin', dashboard);
  app.use(balancer.express());
  const host = await listen(app);
  return {
    url: host.url,
    balancer,
    dashboard,
    close: async () => {
      dashboard.close();
      await host.close();
      await balancer.close();
    },
  };
}

/** Wait until the cell `field` of a server's row matches; ids are compared in the page, never put in a selector. */
async function waitForCell(page: Page, pool: string, id: string, field: string, pattern: RegExp, timeout = 5000): Promise<string> {
  const handle = await page.waitForFunction(
    ([pool, id, field, source, flags]) => {
      const section = [...document.querySelectorAll<HTMLElement>('[data-pool]')].find((el) => el.dataset.pool === pool);
      const row = [...(section?.querySelectorAll<HTMLTableRowElement>('tbody tr') ?? [])].find((tr) => tr.dataset.server === id);
      const text = row?.querySelector(`[data-f="${field}"]`)?.textContent ?? null;
      return text !== null && new RegExp(source, flags).test(text) ? text : false;
    },
    [pool, id, field, pattern.source, pattern.flags] as const,
    { timeout },
  );
  return (await handle.jsonValue()) as string;
}

function row(page: Page, pool: string, id: string) {
  return page.locator(`details[data-pool="${pool}"] tr[data-server="${id}"]`);
}

describe('dashboard in a browser (Chromium)', function () {
  this.timeout(30_000);
  let browser: Browser;
  let backends: Backend[];
  const contexts: BrowserContext[] = [];
  const fixtures: Fixture[] = [];
  const problems: PageProblems[] = [];

  before(async function () {
    requireTool(this, 'chromium');
    browser = await launchBrowser();
    backends = await startBackends(3, 'b', slowEcho(10));
  });

  after(async () => {
    await browser?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    for (const fixture of fixtures.splice(0)) await fixture.close();
    const seen = problems.splice(0);
    for (const page of seen) {
      expect(page.dialogs, 'dialogs opened').to.deep.equal([]);
      expect(page.errors, 'script or CSP errors').to.deep.equal([]);
    }
  });

  async function fixture(options: BalancerOptions): Promise<Fixture> {
    const started = await startFixture(options);
    fixtures.push(started);
    return started;
  }

  async function open(url: string, { viewport = { width: 1400, height: 900 } } = {}): Promise<Page> {
    const context = await browser.newContext({ httpCredentials: CREDENTIALS, viewport });
    contexts.push(context);
    const page = await context.newPage();
    problems.push(watchPage(page));
    const response = await page.goto(`${url}/admin/`);
    expect(response?.status()).to.equal(200);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-live]')?.dataset.live === 'live');
    return page;
  }

  const apiPool = (drainTimeoutMs = 5000): BalancerOptions => ({
    pools: { api: { drainTimeoutMs, servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
    routes: [{ path: '/api', pool: 'api' }],
  });

  it('asks for a login, and once logged in shows the numbers moving under traffic', async () => {
    const { url } = await fixture(apiPool());
    for (const httpCredentials of [undefined, { username: 'ops', password: 'nope' }]) {
      const refusedContext = await browser.newContext(httpCredentials ? { httpCredentials } : {});
      contexts.push(refusedContext);
      // headless Chromium turns a 401 it has no (right) credentials for into a navigation error
      const refused = await (await refusedContext.newPage()).goto(`${url}/admin/`).then((response) => `status ${response?.status()}`, (error: Error) => error.message);
      expect(refused).to.match(/status 401|ERR_INVALID_AUTH_CREDENTIALS/);
    }

    const page = await open(url);
    expect(await page.textContent('header')).to.contain('signed in as ops');
    expect(await row(page, 'api', 'b1').locator('[data-f="rps"]').textContent()).to.equal('0.0');
    const load = startLoad(url, { path: '/api/x', concurrency: 4 });
    try {
      await waitForCell(page, 'api', 'b1', 'rps', /^[1-9]\d*\.\d$|^0\.[1-9]$/, 8000);
      await waitForCell(page, 'api', 'b1', 'p50', /ms$/);
      await page.waitForFunction(() => (document.querySelector('tr[data-server="b2"] [data-trend]')?.getAttribute('points') ?? '').split(' ').length >= 2);
    } finally {
      await load.stop();
    }
    expect(await row(page, 'api', 'b3').locator('[data-f="errors"]').textContent()).to.match(/^0\.0 %$/);
  });

  it('drains a server by clicking: it shows what is in flight and leaves rotation', async () => {
    const { url, balancer } = await fixture(apiPool(5000));
    const page = await open(url);
    const load = startLoad(url, { path: '/api/x', concurrency: 6 });
    // judged from the moment the drain was committed, not from the click: a loaded machine may take long between the two
    let drainedAt = Number.POSITIVE_INFINITY;
    balancer.on('change', (event) => {
      if (event.changes.some((change) => change.id === 'b2' && change.after?.admin === 'draining')) drainedAt = Math.min(drainedAt, Date.now());
    });
    try {
      await waitFor('traffic on every server', () => new Set(load.results.map((r) => r.backend)).size === 3, 8000);
      // requests held for 3 s on every server, so that b2 has some in flight when its drain begins
      const held = Array.from({ length: 6 }, () => send(url, '/api/x?hold=3000'));
      await waitFor('b2 holds requests', () => balancer.pool('api').snapshot().servers[1]!.active > 0, 3000);
      await row(page, 'api', 'b2').locator('button[data-op="drain"]').click();
      const drain = await waitForCell(page, 'api', 'b2', 'drain', /in flight · [1-5] s left$/, 8000);
      expect(drain).to.match(/^\d+ in flight/);
      await waitForCell(page, 'api', 'b2', 'state', /^draining$/, 8000);
      expect(await row(page, 'api', 'b2').getAttribute('data-state')).to.equal('draining');
      expect(await row(page, 'api', 'b2').locator('button[data-op="drain"]').isDisabled()).to.equal(true);
      await page.waitForFunction(() => /^2\/3 eligible/.test(document.querySelector('[data-pool-summary]')?.textContent ?? ''));
      await waitFor('20 answers after the drain', () => load.results.filter((r) => r.sentAt > drainedAt).length > 20, 8000);
      expect((await Promise.all(held)).map((reply) => reply.status)).to.deep.equal([200, 200, 200, 200, 200, 200]);
    } finally {
      const results = await load.stop();
      const late = results.filter((r) => r.backend === 'b2' && r.sentAt > drainedAt);
      expect(drainedAt, 'the drain was committed').to.be.below(Number.POSITIVE_INFINITY);
      expect(late, 'requests sent to b2 after the drain').to.deep.equal([]);
      expect(results.every((r) => r.status === 200)).to.equal(true);
    }
    expect(balancer.pool('api').snapshot().servers[1]).to.include({ state: 'draining', active: 0 });
    // once nothing is left in flight, the page says the drain is done
    await waitForCell(page, 'api', 'b2', 'drain', /^drained$/, 8000);
    expect(await page.locator('[data-audit] tr').first().textContent()).to.match(/ops.*drain.*api \/ b2.*active → draining/);
  });

  it('changes a weight and the traffic follows', async () => {
    const { url, balancer } = await fixture({
      pools: { api: { algorithm: 'weighted-round-robin', servers: backends.slice(0, 2).map((b) => ({ id: b.id, url: b.url })) } },
      routes: [{ path: '/api', pool: 'api' }],
    });
    const page = await open(url);
    const weightForm = row(page, 'api', 'b1');
    await weightForm.locator('input[name="weight"]').fill('3');
    await weightForm.locator('button[data-op="weight"]').click();
    await waitForCell(page, 'api', 'b1', 'weight', /^3$/);
    expect(balancer.pool('api').snapshot().servers[0]!.weight).to.equal(3);
    // the live feed can redraw the cell before the POST's own answer shows its notice
    await page.waitForFunction(() => document.querySelector('[data-notice]')?.textContent === 'weight of b1 set to 3', undefined, { timeout: 3000 });

    const load = startLoad(url, { path: '/api/x', concurrency: 4 });
    await sleep(1200);
    const results = await load.stop();
    const b1 = results.filter((r) => r.backend === 'b1').length;
    const b2 = results.filter((r) => r.backend === 'b2').length;
    expect(b1 + b2).to.equal(results.length);
    expect(b1 / b2, `${b1}:${b2}`).to.be.within(2.5, 3.5);
    // and the page shows it too: b1's requests per second pull ahead of b2's
    const rps = async (id: string) => Number(await row(page, 'api', id).locator('[data-f="rps"]').textContent());
    await page.waitForFunction(() => document.body.dataset.updatedAt !== undefined);
    await waitForCell(page, 'api', 'b1', 'rps', /^[1-9]/, 4000);
    expect(await rps('b1')).to.be.above(await rps('b2'));
    // and its share of the last 10 s, beside the share its weight asks for, updated live
    expect(await row(page, 'api', 'b1').locator('[data-f="configured"]').textContent()).to.equal('75%');
    expect(await row(page, 'api', 'b2').locator('[data-f="configured"]').textContent()).to.equal('25%');
    await waitForCell(page, 'api', 'b1', 'share', /^7\d%$/, 4000);
    await waitForCell(page, 'api', 'b2', 'share', /^2\d%$/, 4000);
  });

  it('shows a change made in one page on a second open page, added and removed servers too', async () => {
    const { url, balancer } = await fixture(apiPool());
    const [first, second] = [await open(url), await open(url)];
    await row(first, 'api', 'b3').locator('button[data-op="disable"]').click();
    await waitForCell(second, 'api', 'b3', 'state', /^disabled$/, 3000);
    await second.waitForFunction(() => /disable/.test(document.querySelector('[data-audit] tr')?.textContent ?? ''));

    const add = first.locator('form[data-form="add"]');
    await add.locator('input[name="id"]').fill('b4');
    await add.locator('input[name="url"]').fill(backends[0]!.url);
    await add.locator('input[name="weight"]').fill('2');
    await add.locator('button[type="submit"]').click();
    await waitForCell(second, 'api', 'b4', 'weight', /^2$/, 3000);
    expect(await row(second, 'api', 'b4').locator('[data-f="url"]').textContent()).to.equal(backends[0]!.url);
    // the new row's buttons work: drain it from the second page
    await row(second, 'api', 'b4').locator('button[data-op="drain"]').click();
    await waitForCell(first, 'api', 'b4', 'state', /^draining$/, 3000);

    // removing asks first: declined, nothing happens
    const secondProblems = problems[problems.length - 1]!;
    answerNextDialog(secondProblems, 'dismiss');
    await row(second, 'api', 'b4').locator('button[data-op="remove"]').click();
    await waitFor('the confirmation', () => secondProblems.answered.length === 1);
    expect(secondProblems.answered[0]).to.match(/^Remove b4 from the pool\?/);
    expect(balancer.pool('api').snapshot().servers.map((server) => server.id)).to.include('b4');
    answerNextDialog(secondProblems, 'accept');
    await row(second, 'api', 'b4').locator('button[data-op="remove"]').click();
    await first.waitForFunction(() => !document.querySelector('tr[data-server="b4"]'), undefined, { timeout: 3000 });
    expect(await first.locator('details[data-pool="api"] tbody tr').count()).to.equal(3);
  });

  it('shows an error from the API on the page without changing anything', async () => {
    const { url, balancer } = await fixture(apiPool());
    const page = await open(url);
    await row(page, 'api', 'b1').locator('button[data-op="weight"]').click(); // empty weight
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-notice]')?.dataset.kind === 'error');
    expect(await page.textContent('[data-notice]')).to.match(/weight b1 failed: weight: expected a number >= 0/);
    expect(balancer.pool('api').snapshot().servers[0]!.weight).to.equal(1);
    // the refused request is the one console error this test expects
    const seen = problems[problems.length - 1]!;
    expect(seen.errors).to.deep.equal(['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    seen.errors.length = 0;
  });

  it('shows hostile ids and pool names as text, on load and in live updates', async () => {
    const pool = '<img src=x onerror=alert(0)>';
    const id = '<img src=x onerror=alert(1)>';
    const { url, balancer } = await fixture({ pools: { [pool]: { servers: [{ id, url: backends[0]!.url }] } }, routes: [{ path: '/nothing', pool }] });
    const page = await open(url);
    expect(await page.locator('.pool-name').textContent()).to.equal(pool);
    await waitForCell(page, pool, id, 'id', /^<img src=x onerror=alert\(1\)>$/);

    const added = '"><svg/onload=alert(3)>';
    const add = page.locator('form[data-form="add"]');
    await add.locator('input[name="id"]').fill(added);
    await add.locator('input[name="url"]').fill(backends[1]!.url);
    await add.locator('button[type="submit"]').click();
    await waitForCell(page, pool, added, 'id', /^"><svg\/onload=alert\(3\)>$/, 3000);
    balancer.pool(pool).disable(id);
    await waitForCell(page, pool, id, 'state', /^disabled$/);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-audit] tr')].some((row) => /svg\/onload/.test(row.textContent ?? '')));
    await sleep(300);
    expect(await page.locator('main img, main svg:not(.trend svg), main script').count()).to.equal(0);
    expect(await page.locator('main svg').count()).to.equal(2); // only the two trend lines
    // afterEach checks that no dialog opened and no script error happened
  });

  it('stays readable with 200 servers: one compact table per pool, collapsible, live', async function () {
    const servers = Array.from({ length: 200 }, (_, i) => ({ id: `srv-${String(i + 1).padStart(3, '0')}`, url: `http://10.0.${i >> 8}.${i & 255}:8080` }));
    const { url, balancer } = await fixture({
      pools: { big: { servers }, small: { servers: [{ id: 'solo', url: backends[0]!.url }] } },
      routes: [{ path: '/small', pool: 'small' }],
    });
    const started = Date.now();
    const page = await open(url);
    expect(Date.now() - started).to.be.below(5000);
    expect(await page.locator('details[data-pool="big"] tbody tr').count()).to.equal(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'horizontal overflow in px').to.be.at.most(0);
    const rowHeight = await page.locator('tr[data-server="srv-001"]').evaluate((tr) => tr.getBoundingClientRect().height);
    expect(rowHeight).to.be.below(48);

    balancer.pool('big').disable('srv-150');
    await waitForCell(page, 'big', 'srv-150', 'state', /^disabled$/, 3000);
    await page.locator('details[data-pool="big"] > summary').click();
    expect(await page.locator('tr[data-server="srv-001"]').isVisible()).to.equal(false);
    expect(await page.locator('tr[data-server="solo"]').isVisible()).to.equal(true);
    const duration = await page.evaluate(() => {
      const t = performance.now();
      document.querySelector<HTMLDetailsElement>('details[data-pool="big"]')!.open = true;
      return performance.now() - t;
    });
    expect(duration).to.be.below(500);
  });

  it('without scripts says it is not live and how to refresh, never "connecting"; with scripts it goes live', async () => {
    const { url } = await fixture(apiPool());
    const context = await browser.newContext({ httpCredentials: CREDENTIALS, javaScriptEnabled: false });
    contexts.push(context);
    const plain = await context.newPage();
    expect((await plain.goto(`${url}/admin/`))?.status()).to.equal(200);
    const header = (await plain.textContent('header')) ?? '';
    expect(header).to.not.match(/connecting/);
    expect(await plain.locator('[data-live]').textContent()).to.equal('not live – reload to refresh');
    expect(await plain.locator('[data-noscript]').isVisible()).to.equal(true);
    expect(await plain.locator('[data-noscript]').textContent()).to.match(/^Scripts are off: .*Reload to refresh/);
    // the forms still render, so the page stays usable
    expect(await plain.locator('form[data-form="add"] button[type="submit"]').isVisible()).to.equal(true);

    const page = await open(url);
    expect(await page.locator('[data-live]').textContent()).to.equal('live');
    expect(await page.locator('[data-noscript]').count()).to.equal(0);
  });

  it('fits a 400 px wide window: header, pool tables and the add form, with tables scrolling in their own box', async () => {
    const { url } = await fixture({
      pools: {
        api: { servers: backends.map((b, i) => ({ id: `a-rather-long-server-name-${i + 1}`, url: b.url })) },
        cache: { protocol: 'tcp', servers: [{ id: 'redis-1', url: 'tcp://127.0.0.1:6390' }] },
      },
      routes: [{ path: '/api', pool: 'api' }],
    });
    const page = await open(url, { viewport: { width: 400, height: 800 } });
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      // what sticks out of the page, past its right edge: must be nothing
      beyond: [...document.querySelectorAll<HTMLElement>('header, header *, summary, form[data-form="add"], form[data-form="add"] *, .scroll')]
        .filter((el) => el.getBoundingClientRect().right > 400.5)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
      tables: [...document.querySelectorAll<HTMLElement>('.scroll')].map((el) => ({ scrolls: el.scrollWidth > el.clientWidth, overflow: getComputedStyle(el).overflowX })),
    }));
    expect(widths.page, 'page width at 400 px').to.be.at.most(400);
    expect(widths.beyond, 'elements past the right edge').to.deep.equal([]);
    // the wide server tables do not fit: they scroll inside their wrapper, not the page
    expect(widths.tables.length).to.equal(2);
    for (const table of widths.tables) expect(table).to.deep.equal({ scrolls: true, overflow: 'auto' });
    expect(await page.locator('form[data-form="add"] button[type="submit"]').first().isVisible()).to.equal(true);
  });

  it('renders a realistic dashboard for a screenshot (docs/dashboard.png with UPDATE_SCREENSHOT=1)', async () => {
    const web = await startBackends(3, 'web-', (req, res, backend) => {
      req.resume();
      const status = req.url === '/health' && backend.id === 'web-3' ? 503 : 200;
      setTimeout(() => {
        res.writeHead(status, { 'x-backend': backend.id, 'content-type': 'text/plain' });
        res.end(backend.id);
      }, 2 + Math.random() * 20);
    });
    const withChecks = await activeChecksWired();
    const { url, balancer } = await fixture({
      pools: {
        api: {
          algorithm: 'weighted-round-robin',
          drainTimeoutMs: 30_000,
          sticky: true,
          servers: backends.map((b, i) => ({ id: `api-${i + 1}`, url: b.url, weight: i === 0 ? 3 : 1 })),
        },
        web: {
          algorithm: 'least-connections',
          ...(withChecks ? { healthCheck: { type: 'http' as const, path: '/health', intervalMs: 400, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 } } : {}),
          servers: web.map((b) => ({ id: b.id, url: b.url })),
        },
      },
      routes: [{ path: '/api', pool: 'api' }, { path: '/', pool: 'web' }],
      sticky: { secret: 'screenshot-secret-0123456789abcdef' },
    });
    try {
      const page = await open(url, { viewport: { width: 1360, height: 760 } });
      const loads = [startLoad(url, { path: '/api/orders', concurrency: 3 }), startLoad(url, { path: '/index.html', concurrency: 2 })];
      await sleep(3500);
      await row(page, 'api', 'api-2').locator('input[name="weight"]').fill('2');
      await row(page, 'api', 'api-2').locator('button[data-op="weight"]').click();
      await row(page, 'api', 'api-3').locator('button[data-op="drain"]').click();
      await waitForCell(page, 'api', 'api-3', 'state', /^draining$/);
      await sleep(3000);
      await page.locator('[data-notice]').evaluate((el) => ((el as HTMLElement).hidden = true));
      // the picture in the README changes only when asked: a test run leaves tracked files alone
      const file = process.env.UPDATE_SCREENSHOT === '1' ? path.join(packageRoot(), 'docs', 'dashboard.png') : path.join(os.tmpdir(), `switchyard-dashboard-${process.pid}.png`);
      await page.screenshot({ path: file, fullPage: true });
      expect(fs.statSync(file).size).to.be.above(10_000);
      await Promise.all(loads.map((load) => load.stop()));
      if (withChecks) expect(balancer.pool('web').snapshot().servers[2]).to.include({ health: 'unhealthy' });
    } finally {
      await Promise.all(web.map((b) => b.close()));
    }
  });
});

/** Whether this balancer runs active health checks yet (the screenshot shows an unhealthy server when it does). */
async function activeChecksWired(): Promise<boolean> {
  let probed = false;
  const probe = createBalancer({
    logger: silentLogger,
    pools: { p: { healthCheck: { type: 'custom', intervalMs: 100, timeoutMs: 50, check: () => (probed = true) }, servers: [{ id: 's', url: 'http://127.0.0.1:9' }] } },
  });
  await sleep(150);
  await probe.close();
  return probed;
}
