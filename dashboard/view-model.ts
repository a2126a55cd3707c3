import type { BalancerSnapshot } from '../middleware/balancer.js';
import type { PoolSnapshot } from '../middleware/pool/pool.js';
import type { ServerSnapshot } from '../middleware/pool/server.js';
import type { AuditEntry } from './audit.js';
import type { FleetView } from './fleet-view.js';
import { errorCount, type History } from './history.js';
import { rolloutView, type RolloutView } from './rollout-view.js';
import { percent, poolShares, type Share } from './share.js';
import { tcpCells } from './tcp-view.js';

/**
 * Snapshot → the strings the page shows. The EJS page and the live stream both use this, so
 * the browser only copies text into cells (`textContent`) and never formats or builds markup.
 */

/** The cells of a server row; each is an element with `data-f="<name>"` in views/server-row.ejs. */
export const SERVER_FIELDS = [
  'id', 'role', 'url', 'state', 'drain', 'health', 'reason', 'weight', 'effective', 'share', 'configured', 'active', 'rps', 'errors', 'p50', 'p99', 'sessions',
] as const;
export type ServerField = (typeof SERVER_FIELDS)[number];

export interface ServerView {
  id: string;
  /** Drive the row's colours through `data-*` attributes (CSS, no inline style). */
  state: string;
  health: string;
  backup: boolean;
  cells: Record<ServerField, string>;
  /** Tooltips for some cells. */
  titles: Partial<Record<ServerField, string>>;
  /** Requests per second, oldest first: the trend line's points. */
  trend: number[];
}

export interface PoolView {
  name: string;
  /** `tcp`: the row cells hold connection figures (see tcp-view.ts). */
  protocol: 'http' | 'tcp';
  summary: string;
  servers: ServerView[];
  /** The pool's rollout panel (see rollout-view.ts); null without one. */
  rollout: RolloutView | null;
}

export interface AuditView {
  seq: number;
  time: string;
  user: string;
  action: string;
  target: string;
  change: string;
}

export interface DashboardView {
  at: number;
  time: string;
  pools: PoolView[];
  /** Present when the audit log changed since the reader's last view (always on a full render). */
  audit?: AuditView[];
  auditSeq: number;
  /** The fleet line (instances converged, store reachable). */
  fleet?: FleetView;
}

export function dashboardView(snapshot: BalancerSnapshot, history: History | null, audit: AuditEntry[] | null, auditSeq: number, fleet?: FleetView): DashboardView {
  const view: DashboardView = {
    at: snapshot.at,
    time: clock(snapshot.at),
    pools: Object.values(snapshot.pools).map((pool) => poolView(pool, history, snapshot.at)),
    auditSeq,
  };
  if (audit) view.audit = audit.map(auditView);
  if (fleet) view.fleet = fleet;
  return view;
}

export function poolView(pool: PoolSnapshot, history: History | null, now: number): PoolView {
  const tcp = pool.protocol === 'tcp';
  const rps = pool.servers.reduce((sum, server) => sum + (tcp ? server.tcp?.connectionsPerSecond ?? 0 : server.rps), 0);
  const parts = [`${pool.eligible}/${pool.servers.length} eligible`, pool.algorithm, tcp ? `tcp · ${fixed(rps, 1)} conn/s` : `${fixed(rps, 1)} rps`];
  if (pool.sticky) parts.push('sticky');
  // what an operator must see at once: the pool is out of healthy capacity, or requests are waiting
  if (pool.panic) parts.push('PANIC: balancing over all servers, too few are healthy');
  if (pool.queue && (pool.queue.depth > 0 || pool.queue.expired > 0 || pool.queue.rejected > 0)) {
    parts.push(`queue ${pool.queue.depth}/${pool.queue.size}, wait mean ${fixed(pool.queue.meanWaitMs, 0)} ms, ${pool.queue.expired} expired, ${pool.queue.rejected} refused`);
  }
  const shares = poolShares(pool);
  return { name: pool.name, protocol: tcp ? 'tcp' : 'http', summary: parts.join(' · '), servers: pool.servers.map((server) => serverView(pool.name, server, history, now, shares.get(server.id))), rollout: pool.rollout ? rolloutView(pool.rollout) : null };
}

export function serverView(pool: string, server: ServerSnapshot, history: History | null, now: number, share: Share = { recent: null, configured: 0 }): ServerView {
  const errorRate = history ? history.errorRate(pool, server, now) : server.requests > 0 ? errorCount(server) / server.requests : null;
  const { connect, timeout, reset, http5xx, http4xx } = server.errors;
  const view: ServerView = {
    id: server.id,
    state: server.state,
    health: server.health,
    backup: server.backup,
    cells: {
      id: server.id,
      role: server.backup ? 'backup' : '',
      url: server.url,
      state: server.state,
      drain: drainText(server, now),
      health: server.health,
      reason: reasonText(server),
      weight: String(server.weight),
      effective: server.slowStart ? `${server.effectiveWeight} ↗` : String(server.effectiveWeight),
      share: percent(share.recent),
      configured: percent(share.configured),
      active: String(server.active),
      rps: fixed(server.rps, 1),
      errors: errorRate === null ? '–' : `${fixed(errorRate * 100, 1)} %`,
      p50: millis(server.latencyMs.p50),
      p99: millis(server.latencyMs.p99),
      sessions: String(server.sessions.pinned),
    },
    titles: {
      reason: server.checks.map((check) => `${clock(check.at)} ${check.ok ? 'passed' : 'failed'}: ${check.reason}`).join('\n') || 'no checks yet',
      errors: `all time: ${server.requests} requests; connect ${connect}, timeout ${timeout}, reset ${reset}, 5xx ${http5xx} (4xx ${http4xx} not counted)`,
      effective: server.slowStart ? 'in slow start: ramping up to the full weight' : 'full weight',
      share: server.tcp ? "of the pool's new connections over the last 10 s" : "of the pool's requests over the last 10 s",
      configured: server.eligible ? 'configured: its weight over the eligible servers\' weights' : 'configured: none, it takes no new requests',
      sessions: `${server.sessions.pinned} pinned, ${server.sessions.repinned} moved away`,
    },
    trend: history ? history.trend(pool, server.id) : [],
  };
  if (server.tcp) {
    const tcp = tcpCells(server, server.tcp);
    Object.assign(view.cells, tcp.cells);
    Object.assign(view.titles, tcp.titles);
  }
  return view;
}

/** Why a server is in or out, most telling first: passive ejection, the last check, no check. */
export function reasonText(server: ServerSnapshot): string {
  if (server.flags.ejected) {
    const until = server.flags.ejectedUntil === null ? '' : ` until ${clock(server.flags.ejectedUntil)}`;
    return `ejected by passive checks${until} (${server.flags.ejections}×)`;
  }
  const last = server.checks[server.checks.length - 1];
  if (last) return `${last.ok ? 'passed' : 'failed'}: ${last.reason}`;
  if (server.flags.check === 'pending') return 'waiting for the first check';
  if (server.flags.check === 'off') return 'no active check';
  return '';
}

/** "3 in flight · 12 s left" while draining, "drained" once nothing is left in flight; empty otherwise. */
export function drainText(server: ServerSnapshot, now: number): string {
  if (server.state !== 'draining' || server.drainDeadline === null) return '';
  // the drain has done its work: the operator may remove or re-enable the server now
  if (server.active === 0) return 'drained';
  const left = server.drainDeadline - now;
  return `${server.active} in flight · ${left > 0 ? `${Math.ceil(left / 1000)} s left` : 'deadline passed'}`;
}

export function auditView(entry: AuditEntry): AuditView {
  return {
    seq: entry.seq,
    time: clock(entry.at),
    user: entry.user,
    action: entry.action,
    target: `${entry.pool} / ${entry.server}`,
    change: `${plain(entry.before)} → ${plain(entry.after)}`,
  };
}

/** HH:MM:SS in UTC: the server's clock, whatever the browser's time zone. */
export function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}

function millis(ms: number | null): string {
  if (ms === null) return '–';
  return ms < 10 ? `${fixed(ms, 1)} ms` : `${Math.round(ms)} ms`;
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function plain(value: unknown): string {
  if (value === null || value === undefined) return '–';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
