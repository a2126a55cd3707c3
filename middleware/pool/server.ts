import { ServerStats, type StatsSnapshot } from '../stats/server-stats.js';
import { InFlightList } from './in-flight.js';

/** Set by operators. */
export type AdminState = 'active' | 'draining' | 'disabled';
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

export interface ServerSpec {
  id: string;
  url: string;
  weight: number;
  backup: boolean;
}

/** Which of a server's fields changed; the pool turns these into `change` events. */
export type ServerField = 'state' | 'health' | 'weight';
export type ServerListener = (server: Server, field: ServerField, before: string | number, after: string | number, reason?: string) => void;

const CHECK_HISTORY = 5;
/** A server in slow start begins at this share of its weight (HAProxy starts near 0 too). */
const SLOW_START_FLOOR = 0.05;

/**
 * One backend and its state. Each flag has one writer: operators (admin state, weight),
 * the active checker (check), passive ejection (ejectedUntil). Eligibility is derived.
 */
export class Server {
  readonly id: string;
  readonly url: string;
  readonly target: ProxyTarget;
  readonly backup: boolean;
  readonly stats = new ServerStats();
  /** Requests and WebSockets in flight here; the pool adds and removes them. */
  readonly inFlight = new InFlightList();
  /** Sessions pinned here (an estimate with a shared store) and sessions moved away. */
  pinned = 0;
  repinned = 0;

  #weight: number;
  #state: AdminState = 'active';
  #check: CheckState;
  #ejectedUntil = 0;
  #ejections = 0;
  #checks: CheckResult[] = [];
  #rampStart = 0;
  #rampMs = 0;
  #drainDeadline = 0;
  #listener: ServerListener;

  constructor(spec: ServerSpec, options: { activeCheck: boolean; listener: ServerListener }) {
    this.id = spec.id;
    this.url = spec.url;
    this.target = targetOf(spec.url);
    this.backup = spec.backup;
    this.#weight = spec.weight;
    this.#check = options.activeCheck ? 'pending' : 'off';
    this.#listener = options.listener;
  }

  /** Requests and WebSockets in flight. */
  get active(): number {
    return this.inFlight.size;
  }

  get weight(): number {
    return this.#weight;
  }

  get state(): AdminState {
    return this.#state;
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

  get drainDeadline(): number {
    return this.#drainDeadline;
  }

  /** Weight after slow start: ramps linearly from a small floor to the full weight. */
  effectiveWeight(now = Date.now()): number {
    if (this.#rampStart === 0) return this.#weight;
    const progress = (now - this.#rampStart) / this.#rampMs;
    if (progress >= 1) {
      this.#rampStart = 0;
      return this.#weight;
    }
    return this.#weight * Math.max(SLOW_START_FLOOR, progress);
  }

  get inSlowStart(): boolean {
    return this.#rampStart !== 0 && Date.now() - this.#rampStart < this.#rampMs;
  }

  setWeight(weight: number): void {
    const before = this.#weight;
    if (before === weight) return;
    this.#weight = weight;
    this.#listener(this, 'weight', before, weight);
  }

  setState(state: AdminState, drainDeadline = 0): void {
    const before = this.#state;
    this.#drainDeadline = state === 'draining' ? drainDeadline : 0;
    if (before === state) return;
    this.#state = state;
    this.#listener(this, 'state', before, state);
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

  /** Start (or restart) the slow-start ramp; a no-op when slowStartMs is 0. */
  startRamp(rampMs: number, now = Date.now()): void {
    if (rampMs <= 0) return;
    this.#rampStart = now;
    this.#rampMs = rampMs;
  }

  snapshot(now = Date.now()): ServerSnapshot {
    return {
      id: this.id,
      url: this.url,
      backup: this.backup,
      state: this.#state,
      health: this.health,
      flags: { check: this.#check, ejected: this.ejected, ejectedUntil: this.ejected ? this.#ejectedUntil : null, ejections: this.#ejections },
      weight: this.#weight,
      effectiveWeight: Math.round(this.effectiveWeight(now) * 100) / 100,
      slowStart: this.inSlowStart,
      active: this.active,
      drainDeadline: this.#drainDeadline || null,
      sessions: { pinned: this.pinned, repinned: this.repinned },
      checks: this.#checks.map((check) => ({ ...check })),
      ...this.stats.snapshot(now),
    };
  }

  /** Health is derived from several flags: report it only when the derived value moves. */
  #changeHealth(reason: string, mutate: () => void): void {
    const before = this.health;
    mutate();
    if (before !== this.health) this.#listener(this, 'health', before, this.health, reason);
  }
}

export interface ServerSnapshot extends StatsSnapshot {
  id: string;
  url: string;
  backup: boolean;
  state: AdminState;
  health: Health;
  /** Why a server is out: each writer's own flag. */
  flags: { check: CheckState; ejected: boolean; ejectedUntil: number | null; ejections: number };
  weight: number;
  effectiveWeight: number;
  slowStart: boolean;
  active: number;
  drainDeadline: number | null;
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
