import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BalancerSnapshot } from '../balancer.js';
import type { ServerSnapshot } from '../pool/server.js';
import { addTcpMetrics } from '../tcp/prometheus.js';

/** The package's version, read once: `switchyard_build_info` says which build a scrape came from. */
const VERSION = ((): string => {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/** The Prometheus text exposition format this renders. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  samples: Array<[suffix: string, labels: Labels, value: number]>;
}

const ADMIN_STATES = ['active', 'draining', 'disabled', 'removing'] as const;

/**
 * A snapshot in Prometheus text format 0.0.4: `switchyard_` names, counters ending in `_total`,
 * latency as the histogram `switchyard_request_duration_seconds`, labels `pool` and `server`.
 */
export function renderMetrics(snapshot: BalancerSnapshot): string {
  const families = new Map<string, Family>();
  const add = (name: string, type: Family['type'], help: string, suffix: string, labels: Labels, value: number) => {
    let family = families.get(name);
    if (!family) families.set(name, (family = { name, type, help, samples: [] }));
    family.samples.push([suffix, labels, value]);
  };
  const allPools = Object.values(snapshot.pools);
  // request figures (statuses, request bytes, latency, sessions) are for HTTP pools; TCP pools have their own families
  const httpPools = allPools.filter((pool) => pool.protocol !== 'tcp');
  const perServer = (name: string, type: Family['type'], help: string, value: (server: ServerSnapshot) => number, pools = httpPools) => {
    for (const pool of pools) {
      for (const server of pool.servers) add(name, type, help, '', { pool: pool.name, server: server.id }, value(server));
    }
  };

  add('switchyard_build_info', 'gauge', 'Always 1; the labels say which build and runtime answer.', '', { version: VERSION, node: process.version, instance: snapshot.instance }, 1);
  for (const pool of Object.values(snapshot.pools)) {
    add('switchyard_pool_servers', 'gauge', 'Servers in the pool.', '', { pool: pool.name }, pool.servers.length);
    add('switchyard_pool_eligible_servers', 'gauge', 'Servers of the pool that may take new requests.', '', { pool: pool.name }, pool.eligible);
  }
  for (const pool of httpPools) {
    for (const server of pool.servers) {
      for (const [statusClass, count] of Object.entries(server.statuses)) {
        add('switchyard_requests_total', 'counter', 'Finished requests by the status class of their response; "none" when no response came (connect failure, timeout, reset, a malformed response, a client gone).', '', { pool: pool.name, server: server.id, status_class: statusClass }, count);
      }
    }
    const queue = pool.queue;
    add('switchyard_pool_queue_depth', 'gauge', 'Requests waiting for a server that is not full.', '', { pool: pool.name }, queue.depth);
    add('switchyard_pool_queue_admitted_total', 'counter', 'Requests that waited in the queue and got a server.', '', { pool: pool.name }, queue.admitted);
    add('switchyard_pool_queue_expired_total', 'counter', 'Requests that waited timeoutMs in the queue (503 QUEUE_TIMEOUT).', '', { pool: pool.name }, queue.expired);
    add('switchyard_pool_queue_rejected_total', 'counter', 'Requests refused because the queue was full (503 QUEUE_FULL).', '', { pool: pool.name }, queue.rejected);
  }
  perServer('switchyard_requests_started_total', 'counter', 'Requests forwarded to the server, counted as they start.', (s) => s.requests);
  for (const pool of httpPools) {
    for (const server of pool.servers) {
      for (const [kind, count] of Object.entries(server.errors)) {
        add('switchyard_errors_total', 'counter', 'Failed requests by kind: connect, timeout, reset, invalid (a malformed response), http5xx, http4xx.', '', { pool: pool.name, server: server.id, kind }, count);
      }
    }
  }
  perServer('switchyard_request_bytes_total', 'counter', 'Request body bytes sent to the server.', (s) => s.bytesIn);
  perServer('switchyard_response_bytes_total', 'counter', 'Response bytes received from the server.', (s) => s.bytesOut);
  perServer('switchyard_ejections_total', 'counter', 'Times passive health checks ejected the server.', (s) => s.flags.ejections, allPools);
  perServer('switchyard_sessions_repinned_total', 'counter', 'Sticky sessions moved away from the server.', (s) => s.sessions.repinned);
  perServer('switchyard_server_active_requests', 'gauge', 'Requests and WebSockets in flight.', (s) => s.active);
  perServer('switchyard_server_weight', 'gauge', 'Configured weight.', (s) => s.weight, allPools);
  perServer('switchyard_server_effective_weight', 'gauge', 'Weight after slow start.', (s) => s.effectiveWeight, allPools);
  perServer('switchyard_server_healthy', 'gauge', '1 when health checks and passive ejection let the server in.', (s) => (s.health === 'healthy' ? 1 : 0), allPools);
  perServer('switchyard_server_up', 'gauge', '1 when the server takes new requests: active, healthy and weight above 0.', (s) =>
    s.state === 'active' && s.health === 'healthy' && s.weight > 0 ? 1 : 0, allPools);
  perServer('switchyard_server_sessions_pinned', 'gauge', 'Sticky sessions pinned to the server.', (s) => s.sessions.pinned);
  for (const pool of allPools) {
    for (const server of pool.servers) {
      for (const state of ADMIN_STATES) {
        add('switchyard_server_admin_state', 'gauge', 'Admin state set by operators: 1 for the current state.', '', { pool: pool.name, server: server.id, state }, server.state === state ? 1 : 0);
      }
    }
  }
  for (const pool of httpPools) {
    for (const server of pool.servers) {
      const labels = { pool: pool.name, server: server.id };
      const { bounds, counts, sumSeconds, count } = server.latency;
      const help = 'Time from forwarding a request to the end of its response.';
      bounds.forEach((bound, i) => add('switchyard_request_duration_seconds', 'histogram', help, '_bucket', { ...labels, le: formatValue(bound) }, counts[i] ?? 0));
      add('switchyard_request_duration_seconds', 'histogram', help, '_bucket', { ...labels, le: '+Inf' }, count);
      add('switchyard_request_duration_seconds', 'histogram', help, '_sum', labels, sumSeconds);
      add('switchyard_request_duration_seconds', 'histogram', help, '_count', labels, count);
    }
  }
  addTcpMetrics(allPools, add, formatValue);

  const lines: string[] = [];
  for (const family of families.values()) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const [suffix, labels, value] of family.samples) lines.push(`${family.name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Label values escape backslash, double quote and line feed, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** Go's float formatting as Prometheus reads it: +Inf, -Inf, NaN, else plain JS numbers. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
