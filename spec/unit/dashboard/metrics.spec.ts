import { expect } from 'chai';
import type { BalancerSnapshot } from '../../../middleware/balancer.js';
import { escapeLabelValue, formatValue, renderMetrics } from '../../../dashboard/metrics.js';
import { emptyQueue, serverSnapshot } from './view-model.spec.js';

describe('dashboard metrics rendering', () => {
  const snapshot: BalancerSnapshot = {
    at: 0,
    instance: 'test',
    revision: 0,
    pools: {
      api: {
        name: 'api',
        algorithm: 'round-robin',
        sticky: false,
        eligible: 1,
        panic: false,
        retrying: 0,
        queue: emptyQueue(),
        servers: [
          serverSnapshot({ requests: 7, latency: { bounds: [0.005, 0.01, 0.025], counts: [2, 5, 6], sumSeconds: 0.061, count: 7 } }),
          serverSnapshot({ id: 'a2', state: 'disabled', health: 'unhealthy' }),
        ],
      },
    },
  };
  const text = renderMetrics(snapshot);

  it('escapes backslash, double quote and line feed in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).to.equal('a\\\\b\\"c\\nd');
  });

  it('formats special floats as Prometheus reads them', () => {
    expect([Infinity, -Infinity, NaN, 0.25, 3].map(formatValue)).to.deep.equal(['+Inf', '-Inf', 'NaN', '0.25', '3']);
  });

  it('writes the histogram with cumulative buckets, +Inf, _sum and _count', () => {
    const lines = text.split('\n').filter((line) => line.startsWith('switchyard_request_duration_seconds') && line.includes('server="a1"'));
    expect(lines).to.deep.equal([
      'switchyard_request_duration_seconds_bucket{pool="api",server="a1",le="0.005"} 2',
      'switchyard_request_duration_seconds_bucket{pool="api",server="a1",le="0.01"} 5',
      'switchyard_request_duration_seconds_bucket{pool="api",server="a1",le="0.025"} 6',
      'switchyard_request_duration_seconds_bucket{pool="api",server="a1",le="+Inf"} 7',
      'switchyard_request_duration_seconds_sum{pool="api",server="a1"} 0.061',
      'switchyard_request_duration_seconds_count{pool="api",server="a1"} 7',
    ]);
    expect(text).to.contain('# TYPE switchyard_request_duration_seconds histogram\n');
  });

  it('has gauges for active, weights, health, eligibility and admin state', () => {
    for (const line of [
      'switchyard_requests_started_total{pool="api",server="a1"} 7',
      'switchyard_requests_total{pool="api",server="a1",status_class="2xx"} 0',
      'switchyard_server_active_requests{pool="api",server="a1"} 0',
      'switchyard_server_weight{pool="api",server="a1"} 1',
      'switchyard_server_effective_weight{pool="api",server="a1"} 1',
      'switchyard_server_healthy{pool="api",server="a2"} 0',
      'switchyard_server_up{pool="api",server="a1"} 1',
      'switchyard_server_up{pool="api",server="a2"} 0',
      'switchyard_server_admin_state{pool="api",server="a2",state="disabled"} 1',
      'switchyard_server_admin_state{pool="api",server="a2",state="active"} 0',
      'switchyard_pool_eligible_servers{pool="api"} 1',
    ]) {
      expect(text.split('\n')).to.include(line);
    }
  });

  it('declares each family once, before its samples, counters ending in _total', () => {
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(new Set(types.map(([name]) => name)).size).to.equal(types.length);
    for (const [name, type] of types) if (type === 'counter') expect(name).to.match(/^switchyard_.*_total$/);
    expect(text.endsWith('\n')).to.equal(true);
  });
});
