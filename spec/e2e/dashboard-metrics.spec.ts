import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { listen, startBackends, type Backend } from '../support/backends.js';

const AUTH = `Basic ${Buffer.from('prom:scrape-me-please').toString('base64')}`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format 0.0.4: every line must be a HELP or TYPE
 * comment or a sample, each family's TYPE must come before its samples and appear once.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n'), 'ends with a line feed').to.equal(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const closed = new Set<string>();
  let current = '';
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (kind === 'TYPE') {
        expect(rest, line).to.be.oneOf(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
        expect(types.has(name!), `one TYPE line for ${name}`).to.equal(false);
        types.set(name!, rest!);
        if (current) closed.add(current);
        current = name!;
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|[+-]Inf|NaN)$/.exec(line);
    expect(sample, `a valid sample line: ${line}`).to.not.equal(null);
    const [, name, labelText, value] = sample!;
    const family = [...types.keys()].find((f) => name === f || (types.get(f) === 'histogram' && /^_(bucket|sum|count)$/.test(name!.slice(f.length)) && name!.startsWith(f)));
    expect(family, `TYPE before ${name}`).to.equal(current);
    samples.push({ name: name!, labels: parseLabels(labelText ?? ''), value: Number(value!.replace('+Inf', 'Infinity').replace('-Inf', '-Infinity')) });
  }
  return { samples, types };
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text))) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  expect(pattern.lastIndex, `labels fully parsed: {${text}}`).to.equal(text.length);
  return labels;
}

describe('dashboard metrics (GET metrics)', () => {
  const ODD_POOL = 'odd "pool" \\ name';
  let backends: Backend[];
  let balancer: Balancer;
  let dashboard: Dashboard;
  let host: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    backends = await startBackends(2, 'm', (req, res, backend) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(req.url === '/api/fail' ? 500 : 200, { 'x-backend': backend.id });
        res.end('ok');
      }, 3);
    });
    balancer = createBalancer({
      logger: silentLogger,
      pools: {
        api: { servers: backends.map((b) => ({ id: b.id, url: b.url })) },
        [ODD_POOL]: { servers: [{ id: 'q"1\\', url: backends[0]!.url }] },
      },
      routes: [{ path: '/api', pool: 'api' }, { path: '/odd', pool: ODD_POOL }],
    });
    dashboard = createDashboard(balancer, { auth: { username: 'prom', password: 'scrape-me-please' } });
    const app = express();
    app.use('/admin', dashboard);
    app.use(balancer.express());
    host = await listen(app);
    for (let i = 0; i < 18; i++) await request(host.url).get('/api/x').expect(200);
    for (let i = 0; i < 2; i++) await request(host.url).get('/api/fail').expect(500);
    await request(host.url).get('/odd').expect(200);
    balancer.pool('api').drain('m2', 60_000).catch(() => {});
  });

  after(async () => {
    dashboard.close();
    await host.close();
    await balancer.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('answers the Prometheus text format 0.0.4, behind the same auth', async () => {
    await request(host.url).get('/admin/metrics').expect(401);
    const res = await request(host.url).get('/admin/metrics').set('authorization', AUTH).expect(200);
    expect(res.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const { samples, types } = parseExposition(res.text);
    for (const [name, type] of types) {
      expect(name).to.match(/^switchyard_/);
      if (type === 'counter') expect(name).to.match(/_total$/);
    }
    expect(samples.length).to.be.above(50);
  });

  it('counts requests and errors per pool and server, and escapes label values', async () => {
    const { samples } = parseExposition((await request(host.url).get('/admin/metrics').set('authorization', AUTH)).text);
    const value = (name: string, labels: Record<string, string>) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const requests = samples.filter((s) => s.name === 'switchyard_requests_total' && s.labels.pool === 'api');
    expect([...new Set(requests.map((s) => s.labels.server))]).to.deep.equal(['m1', 'm2']);
    expect(requests.reduce((sum, s) => sum + s.value, 0)).to.equal(20);
    expect(requests.filter((s) => s.labels.status_class === '5xx').reduce((sum, s) => sum + s.value, 0)).to.equal(2);
    const errors = samples.filter((s) => s.name === 'switchyard_errors_total' && s.labels.kind === 'http5xx');
    expect(errors.reduce((sum, s) => sum + s.value, 0)).to.equal(2);
    expect(value('switchyard_requests_total', { pool: ODD_POOL, server: 'q"1\\', status_class: '2xx' })).to.equal(1);
    expect(value('switchyard_server_weight', { pool: 'api', server: 'm1' })).to.equal(1);
    expect(value('switchyard_server_effective_weight', { pool: 'api', server: 'm1' })).to.equal(1);
    expect(value('switchyard_server_active_requests', { pool: 'api', server: 'm1' })).to.equal(0);
    expect(value('switchyard_server_healthy', { pool: 'api', server: 'm2' })).to.equal(1);
    expect(value('switchyard_server_up', { pool: 'api', server: 'm2' })).to.equal(0); // draining
    expect(value('switchyard_server_admin_state', { pool: 'api', server: 'm2', state: 'draining' })).to.equal(1);
    expect(value('switchyard_server_admin_state', { pool: 'api', server: 'm2', state: 'active' })).to.equal(0);
    expect(value('switchyard_pool_eligible_servers', { pool: 'api' })).to.equal(1);
  });

  it('has the latency histogram with cumulative buckets, +Inf equal to _count', async () => {
    const { samples, types } = parseExposition((await request(host.url).get('/admin/metrics').set('authorization', AUTH)).text);
    expect(types.get('switchyard_request_duration_seconds')).to.equal('histogram');
    let total = 0;
    for (const server of ['m1', 'm2']) {
      const of = (name: string) => samples.filter((s) => s.name === name && s.labels.pool === 'api' && s.labels.server === server);
      const buckets = of('switchyard_request_duration_seconds_bucket');
      const bounds = buckets.map((b) => Number(b.labels.le!.replace('+Inf', 'Infinity')));
      expect(bounds[bounds.length - 1]).to.equal(Infinity);
      expect([...bounds].sort((a, b) => a - b), 'le ascending').to.deep.equal(bounds);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value, 'cumulative').to.be.at.least(buckets[i - 1]!.value);
      const count = of('switchyard_request_duration_seconds_count')[0]!.value;
      expect(buckets[buckets.length - 1]!.value).to.equal(count);
      expect(of('switchyard_request_duration_seconds_sum')[0]!.value).to.be.above(0.003 * count * 0.9);
      total += count;
    }
    expect(total).to.equal(20);
  });
});
