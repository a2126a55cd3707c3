import type { AdminState, ServerRecord } from '../control/records.js';
import { ServerStats, type StatsSnapshot } from '../stats/server-stats.js';
import { InFlightList } from './in-flight.js';

export type { AdminState };
/** Derived from the health flags below. */
export type Health = 'healthy' | 'unhealthy';
/** The active checker's flag: `off` when the pool has no active check, `pending` before the first. */
export type CheckState = 'off' | 'pending' | 'healthy' | 'unhealthy';

export interface CheckResult {
  at: number;
  ok: boolean;
  /** Why, in a few words: "status 500", "timeout after 2000 ms", "ECONNREFUSED". */
  reason: string;
}

/** Where a server is, built once from its URL. */
export interface ProxyTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  host: string;
  port: string;
  path: string;
}

/** A health transition: the pool turns these into `health` events. */
export type HealthListener = (server: Server, before: Health, after: Health, reason: string) => void;

const CHECK_HISTORY = 5;
/** A server in slow start begins at this share of its weight (HAProxy starts near 0 too). */
const SLOW_START_FLOOR = 0.05;

/**
 * One backend as this instance observes it. What operators decide (weight, admin state,
 * membership) is its `record`, replaced whole when a change is applied; everything else here is
 * observed, each flag with one writer: the active checker (`check`), passive ejection
 * (`ejectedUntil`), the pool (in flight, eligibility). Nothing observed is ever shared.
 */
export class Server {
  readonly id: string;
  readonly url: string;
  readonly target: ProxyTarget;
  readonly stats: ServerStats;
  /** Requests and WebSockets in flight here; the pool adds and removes them. */
  readonly inFlight = new InFlightList();
  /** Sessions pinned here (an estimate with a shared store) and sessions moved away. */
  pinned = 0;
  repinned = 0;
  /** Kept by the pool: may this server take new requests now? O(1) for algorithms. */
  eligible = false;

  #record: ServerRecord;
  #check: CheckState;
  #ejectedUntil = 0;
  #ejections = 0;
  #checks: CheckResult[] = [];
  #rampStart = 0;
  #rampMs = 0;
  #listener: HealthListener;

  constructor(record: ServerRecord, options: { activeCheck: boolean; listener: HealthListener; tcp?: boolean }) {
    this.stats = new ServerStats(options.tcp);
    this.id = record.id;
    this.url = record.url;
    this.target = targetOf(record.url);
    this.#record = record;
    this.#check = options.activeCheck ? 'pending' : 'off';
    this.#listener = options.listener;
  }

  get record(): ServerRecord {
    return this.#record;
  }

  /** Replaced by the pool when a committed change reaches this server. */
  set record(record: ServerRecord) {
    this.#record = record;
  }

  /** Requests and WebSockets in flight. */
  get active(): number {
    return this.inFlight.size;
  }

  get weight(): number {
    return this.#record.weight;
  }

  get backup(): boolean {
    return this.#record.backup;
  }

  get state(): AdminState {
    return this.#record.admin;
  }

  get labels(): Readonly<Record<string, string>> {
    return this.#record.labels;
  }

  /** When a drain closes what is left, epoch ms; 0 when not draining. */
  get drainDeadline(): number {
    return this.#record.drain?.deadline ?? 0;
  }

  get check(): CheckState {
    return this.#check;
  }

  get ejected(): boolean {
    return this.#ejectedUntil > 0;
  }

  get ejectedUntil(): number {
    return this.#ejectedUntil;
  }

  /** How many times passive checks have ejected this server (ejection time grows with it). */
  get ejections(): number {
    return this.#ejections;
  }

  get health(): Health {
    return this.#check !== 'pending' && this.#check !== 'unhealthy' && !this.ejected ? 'healthy' : 'unhealthy';
  }

  get checks(): readonly CheckResult[] {
    return this.#checks;
  }

  /** Weight after slow start: ramps linearly from a small floor to the full weight. */
  effectiveWeight(now = Date.now()): number {
    if (this.#rampStart === 0) return this.#record.weight;
    const progress = (now - this.#rampStart) / this.#rampMs;
    if (progress >= 1) {
      this.#rampStart = 0;
      return this.#record.weight;
    }
    return this.#record.weight * Math.max(SLOW_START_FLOOR, progress);
  }

  inSlowStart(now = Date.now()): boolean {
    return this.#rampStart !== 0 && now - this.#rampStart < this.#rampMs;
  }

  /** The active checker's verdict, after its thresholds. */
  setCheck(check: 'healthy' | 'unhealthy', reason: string): void {
    if (this.#check === check) return;
    this.#changeHealth(reason, () => {
      this.#check = check;
      if (check === 'healthy') this.#ejectedUntil = 0; // a passed check readmits an ejected server early
    });
  }

  /** Keep the last few probe results for the dashboard, whatever the thresholds say. */
  recordCheck(result: CheckResult): void {
    this.#checks.push(result);
    if (this.#checks.length > CHECK_HISTORY) this.#checks.shift();
  }

  eject(until: number, reason: string): void {
    if (this.ejected) return;
    this.#ejections++;
    this.#changeHealth(reason, () => (this.#ejectedUntil = until));
  }

  readmit(reason: string): void {
    if (!this.ejected) return;
    this.#changeHealth(reason, () => (this.#ejectedUntil = 0));
  }

  /** Start (or restart) the slow-start ramp; a no-op when rampMs is 0. */
  startRamp(rampMs: number, now = Date.now()): void {
    if (rampMs <= 0) return;
    this.#rampStart = now;
    this.#rampMs = rampMs;
  }

  snapshot(now = Date.now()): ServerSnapshot {
    const record = this.#record;
    return {
      id: this.id,
      url: this.url,
      backup: record.backup,
      labels: { ...record.labels },
      state: record.admin,
      health: this.health,
      eligible: this.eligible,
      flags: { check: this.#check, ejected: this.ejected, ejectedUntil: this.ejected ? this.#ejectedUntil : null, ejections: this.#ejections },
      weight: record.weight,
      effectiveWeight: Math.round(this.effectiveWeight(now) * 100) / 100,
      slowStart: this.inSlowStart(now),
      active: this.active,
      drainDeadline: record.drain?.deadline ?? null,
      rev: record.rev,
      sessions: { pinned: this.pinned, repinned: this.repinned },
      checks: this.#checks.map((check) => ({ ...check })),
      ...this.stats.snapshot(now),
    };
  }

  /** Health is derived from several flags: report it only when the derived value moves. */
  #changeHealth(reason: string, mutate: () => void): void {
    const before = this.health;
    mutate();
    const after = this.health;
    if (before !== after) this.#listener(this, before, after, reason);
  }
}

export interface ServerSnapshot extends StatsSnapshot {
  id: string;
  url: string;
  backup: boolean;
  labels: Record<string, string>;
  state: AdminState;
  health: Health;
  /** Takes new requests now. */
  eligible: boolean;
  /** Why a server is out: each writer's own flag. */
  flags: { check: CheckState; ejected: boolean; ejectedUntil: number | null; ejections: number };
  weight: number;
  effectiveWeight: number;
  slowStart: boolean;
  active: number;
  drainDeadline: number | null;
  /** Revision of the record's last change. */
  rev: number;
  sessions: { pinned: number; repinned: number };
  checks: CheckResult[];
}

function targetOf(url: string): ProxyTarget {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'https:' ? 'https:' : 'http:';
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port || (protocol === 'https:' ? '443' : '80');
  const path = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
  return { protocol, hostname, host: hostname, port, path };
}
