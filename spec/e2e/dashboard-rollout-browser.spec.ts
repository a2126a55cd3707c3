import { expect } from 'chai';
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { listen, startBackend, type Backend } from '../support/backends.js';
import { answerNextDialog, launchBrowser, watchPage, type PageProblems } from '../support/browser.js';
import { requireTool } from '../support/ci-guard.js';
import { drive, modalHandler, modes, newUsers } from '../support/rollout-traffic.js';

const CREDENTIALS = { username: 'ops', password: 'browser-pass-long' };
const PLAN = { canary: { label: { version: 'v2' } }, steps: [{ share: 20, bakeMs: 60_000 }, { share: 50 }, { share: 100 }], analysis: { minRequests: 30 }, cohort: { key: 'session' }, final: 'keep' };

describe('dashboard rollout panel in a browser (Chromium)', function () {
  this.timeout(40_000);
  let browser: Browser;
  let backends: Backend[];
  let balancer: Balancer;
  let dashboard: Dashboard;
  let host: Awaited<ReturnType<typeof listen>>;
  let traffic: ReturnType<typeof drive> | undefined;
  const contexts: BrowserContext[] = [];
  const problems: PageProblems[] = [];

  before(async function () {
    requireTool(this, 'chromium');
    browser = await launchBrowser();
    backends = await Promise.all(['b1', 'b2', 'c1'].map((id) => startBackend(id, modalHandler)));
  });

  after(async () => {
    await browser?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  beforeEach(async () => {
    modes.clear();
    balancer = createBalancer({
      logger: silentLogger,
      pools: { api: { sticky: true, servers: backends.map((b) => ({ id: b.id, url: b.url, labels: { version: b.id.startsWith('c') ? 'v2' : 'v1' } })) } },
      routes: [{ path: '/api', pool: 'api' }],
      sticky: { secret: 'rollout-browser-secret-0123456789' },
    });
    dashboard = createDashboard(balancer, { auth: CREDENTIALS });
    const app = express();
    app.use('/admin', dashboard);
    app.use(balancer.express());
    host = await listen(app);
    traffic = drive(host.url, newUsers(40), { concurrency: 4 });
  });

  afterEach(async () => {
    await traffic?.stop();
    for (const context of contexts.splice(0)) await context.close();
    dashboard.close();
    await host.close();
    await balancer.close();
    for (const page of problems.splice(0)) {
      expect(page.dialogs, 'unexpected dialogs').to.deep.equal([]);
      expect(page.errors, 'script or CSP errors').to.deep.equal([]);
    }
  });

  async function open({ width = 1400, javaScriptEnabled = true } = {}): Promise<{ page: Page; watched: PageProblems }> {
    const context = await browser.newContext({ httpCredentials: CREDENTIALS, viewport: { width, height: 900 }, javaScriptEnabled });
    contexts.push(context);
    const page = await context.newPage();
    const watched = watchPage(page);
    problems.push(watched);
    const response = await page.goto(`${host.url}/admin/`);
    expect(response?.status()).to.equal(200);
    return { page, watched };
  }

  const panel = (page: Page) => page.locator('[data-rollout="api"]');
  const status = (page: Page, value: string) => page.waitForFunction((v) => document.querySelector<HTMLElement>('[data-rollout="api"]')?.dataset.status === v, value, { timeout: 8000 });
  const text = async (page: Page, field: string) => (await panel(page).locator(`[data-r="${field}"]`).textContent()) ?? '';

  /** The preview table's shares, in percent, once it shows. */
  async function previewShares(page: Page): Promise<Record<string, { arm: string; share: number }>> {
    await page.waitForFunction(() => !document.querySelector<HTMLElement>('[data-rollout="api"] [data-rollout-preview]')?.hidden && document.querySelectorAll('[data-rollout="api"] [data-preview="rows"] tr').length > 0);
    const rows = await panel(page).locator('[data-preview="rows"] tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    return Object.fromEntries(rows.map(([id, arm, share]) => [id!, { arm: arm!, share: Number(share!.replace('%', '')) }]));
  }

  const sum = (shares: Record<string, { share: number }>) => Object.values(shares).reduce((total, row) => total + row.share, 0);

  it('previews and starts a plan, shows steps and live numbers, pauses, resumes and aborts (confirmed) with the reason', async () => {
    const { page, watched } = await open();
    expect(await panel(page).getAttribute('data-status')).to.equal('none');
    expect(await panel(page).locator('.r-none').isVisible()).to.equal(true);
    // no rollout: its tables and charts wait in a template, out of the document
    expect(await panel(page).locator('.r-body').count()).to.equal(0);

    // preview before applying: the plan's second step, computed by the server, changes nothing
    await panel(page).locator('textarea[name="plan"]').fill(JSON.stringify(PLAN));
    await panel(page).locator('input[name="step"]').fill('2');
    await panel(page).locator('button[data-rollout-op="preview"]').click();
    const planned = await previewShares(page);
    expect(planned).to.deep.equal({ b1: { arm: 'baseline', share: 25 }, b2: { arm: 'baseline', share: 25 }, c1: { arm: 'canary', share: 50 } });
    expect(sum(planned)).to.be.closeTo(100, 0.02);
    expect(balancer.pool('api').currentRollout()).to.equal(undefined);

    await panel(page).locator('button[data-rollout-op="start"]').click();
    await status(page, 'running');
    expect(balancer.pool('api').currentRollout()!.snapshot().startedBy).to.equal('ops');
    const steps = panel(page).locator('[data-r-steps] li');
    expect(await steps.count()).to.equal(3);
    expect(await steps.evaluateAll((lis) => lis.map((li) => `${(li as HTMLElement).dataset.state} ${li.querySelector('span')?.textContent}`))).to.deep.equal(['current 20%', 'next 50%', 'next 100%']);
    expect(await text(page, 'headline')).to.equal('running · step 1 of 3 · 20% to the canary');
    // live: the per-arm counts grow under the traffic, polled every second
    await page.waitForFunction(() => Number(document.querySelector('[data-rollout="api"] [data-r="canary.requests"]')?.textContent?.replace(/,/g, '')) > 0 && Number(document.querySelector('[data-rollout="api"] [data-r="baseline.requests"]')?.textContent?.replace(/,/g, '')) > 0, undefined, { timeout: 8000 });
    const bake = await text(page, 'bakeLeft');
    // the first tick may come a quarter of a second after the start: 59.8 s rounds up to 1 min
    expect(bake).to.match(/^(\d+ s|1 min) left$/);
    expect(await text(page, 'baseline.p50')).to.match(/ms$/);
    expect(await text(page, 'canary.servers')).to.equal('c1');
    expect(await text(page, 'eThreshold')).to.match(/^[\d,]+ \(99% confidence\)$/);

    // the running rollout's own canary: 30 % to c1
    await panel(page).locator('.r-preview input[name="share"]').fill('30');
    await panel(page).locator('.r-preview button').click();
    await page.waitForFunction(() => document.querySelector('[data-rollout="api"] [data-preview="title"]')?.textContent === 'At 30% to the canary:');
    const running = await previewShares(page);
    expect(running.c1).to.deep.equal({ arm: 'canary', share: 30 });
    expect(sum(running)).to.be.closeTo(100, 0.02);
    expect(balancer.pool('api').currentRollout()!.snapshot().share).to.equal(20);

    await panel(page).locator('button[data-rollout-op="pause"]').click();
    await status(page, 'paused');
    expect(await text(page, 'headline')).to.match(/^paused · step 1 of 3/);
    expect(await text(page, 'decision')).to.equal('paused: paused by ops');
    expect(await panel(page).locator('button[data-rollout-op="pause"]').isDisabled()).to.equal(true);
    await panel(page).locator('button[data-rollout-op="resume"]').click();
    await status(page, 'running');

    // abort confirms first; the reason is data, shown as text
    const reason = 'bad deploy <img src=x onerror=alert(1)>';
    await panel(page).locator('input[name="reason"]').fill(reason);
    answerNextDialog(watched, 'accept');
    await panel(page).locator('button[data-rollout-op="abort"]').click();
    await status(page, 'aborted');
    expect(watched.answered).to.have.length(1);
    expect(watched.answered[0]).to.match(/^Abort the rollout of api\?/);
    expect(await text(page, 'decision')).to.equal(`aborted: ${reason}`);
    expect(await panel(page).locator('img').count()).to.equal(0);
    expect(balancer.pool('api').currentRollout()!.snapshot()).to.include({ status: 'aborted', reason });
    expect(balancer.pool('api').records().find((r) => r.id === 'c1')!.admin).to.equal('disabled');
    for (const op of ['pause', 'resume', 'promote', 'abort']) expect(await panel(page).locator(`button[data-rollout-op="${op}"]`).isVisible()).to.equal(false);
  });

  it('a dismissed confirmation promotes nothing; the chart fills in; the judge’s own abort reaches an open page', async () => {
    const { page, watched } = await open();
    await balancer.pool('api').rollout({ ...PLAN, steps: [{ share: 40, bakeMs: 30_000 }, { share: 100 }] } as never);
    await status(page, 'running');
    answerNextDialog(watched, 'dismiss');
    await panel(page).locator('button[data-rollout-op="promote"]').click();
    await page.waitForTimeout(300);
    expect(watched.answered[0]).to.match(/^Promote the canary of api now\?/);
    expect(balancer.pool('api').currentRollout()!.status).to.equal('running');
    // the chart is drawn from the rollout's history (a point every 5 s) once it has two points
    const points = (arm: string) => page.evaluate((a) => (document.querySelector(`[data-rollout="api"] [data-chart="errors.${a}"]`)?.getAttribute('points') ?? '').split(' ').filter(Boolean).length, arm);
    expect(await points('canary')).to.equal(0);
    await page.waitForFunction(() => (document.querySelector('[data-rollout="api"] [data-chart="p99.baseline"]')?.getAttribute('points') ?? '').split(' ').length >= 2, undefined, { timeout: 15_000 });
    expect(await points('canary')).to.be.at.least(2);
    expect(await text(page, 'chartNote')).to.match(/^last \d+ s$/);
    modes.set('c1', 'fail');
    await status(page, 'aborted');
    expect(await text(page, 'decision')).to.match(/^aborted: canary \d+(\.\d+)?% errors/);
    await balancer.pool('api').currentRollout()!.done;
  });

  it('fits 400 px without horizontal scrolling, and shows the state server-rendered without scripts', async () => {
    await balancer.pool('api').rollout(PLAN as never);
    const narrow = await open({ width: 400 });
    await status(narrow.page, 'running');
    const widths = await narrow.page.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth, panel: document.querySelector('[data-rollout="api"]')!.getBoundingClientRect().right }));
    expect(widths.page, 'no horizontal scroll').to.be.at.most(widths.view);
    expect(widths.panel).to.be.at.most(400);
    expect(await narrow.page.locator('[data-rollout="api"] button[data-rollout-op="abort"]').isVisible()).to.equal(true);

    const plain = await open({ javaScriptEnabled: false });
    expect(await panel(plain.page).getAttribute('data-status')).to.equal('running');
    expect(await text(plain.page, 'headline')).to.equal('running · step 1 of 3 · 20% to the canary');
    expect(await panel(plain.page).locator('[data-r-steps] li[aria-current="step"]').textContent()).to.contain('20%');
    expect(await panel(plain.page).locator('button[data-rollout-op="resume"]').isDisabled()).to.equal(true);
  });
});
