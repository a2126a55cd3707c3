import type { DrainReport } from './store.js';

/** What `pool.drain()` and `pool.removeServer()` resolve to. */
export interface DrainResult {
  server: string;
  /** True when every instance went idle on the server before the deadline. */
  drained: boolean;
  /** Requests and WebSockets still open at the deadline, which were closed, across all instances. */
  closed: number;
  /** Closed per instance, for instances that closed any (the fleet view of a drain). */
  closedBy: Record<string, number>;
  /** Instances that reported the drain finished, of those alive when it ended. */
  instances: { reported: number; expected: number };
  waitedMs: number;
  /** The drain was called off (`enable`, `disable` or a new admin state) before it finished. */
  cancelled: boolean;
  /** For `removeServer`: the server is gone. */
  removed?: boolean;
}

interface Wait {
  readonly server: string;
  readonly started: number;
  readonly reports: Map<string, DrainReport>;
  readonly resolvers: Array<(result: DrainResult) => void>;
  timer: NodeJS.Timeout | undefined;
}

/** After the deadline, instances that have not reported get this long (their clocks and sweeps differ). */
const GRACE_MS = 1500;

/**
 * Drains that someone awaits, keyed by drain id: resolved when every live instance has reported
 * (`expected()` says which are alive), or at the deadline plus a grace, or when called off.
 */
export class DrainWaits {
  readonly #waits = new Map<string, Wait>();
  readonly #expected: () => readonly string[];

  constructor(expected: () => readonly string[]) {
    this.#expected = expected;
  }

  wait(drainId: string, server: string, deadline: number): Promise<DrainResult> {
    let wait = this.#waits.get(drainId);
    if (!wait) {
      wait = { server, started: Date.now(), reports: new Map(), resolvers: [], timer: undefined };
      this.#waits.set(drainId, wait);
    }
    this.#arm(drainId, wait, deadline);
    const promise = new Promise<DrainResult>((resolve) => wait.resolvers.push(resolve));
    this.#settleIfComplete(drainId);
    return promise;
  }

  /** A second drain with a shorter deadline moves the timer. */
  reschedule(drainId: string, deadline: number): void {
    const wait = this.#waits.get(drainId);
    if (wait) this.#arm(drainId, wait, deadline);
  }

  report(report: DrainReport): void {
    const wait = this.#waits.get(report.drainId);
    if (!wait) return;
    wait.reports.set(report.instance, report);
    this.#settleIfComplete(report.drainId);
  }

  cancel(drainId: string): void {
    this.#finish(drainId, true);
  }

  close(): void {
    for (const drainId of [...this.#waits.keys()]) this.#finish(drainId, true);
  }

  #arm(drainId: string, wait: Wait, deadline: number): void {
    clearTimeout(wait.timer);
    wait.timer = setTimeout(() => this.#finish(drainId, false), Math.max(0, deadline - Date.now()) + GRACE_MS);
    wait.timer.unref();
  }

  #settleIfComplete(drainId: string): void {
    const wait = this.#waits.get(drainId);
    if (wait && this.#expected().every((instance) => wait.reports.has(instance))) this.#finish(drainId, false);
  }

  #finish(drainId: string, cancelled: boolean): void {
    const wait = this.#waits.get(drainId);
    if (!wait) return;
    this.#waits.delete(drainId);
    clearTimeout(wait.timer);
    const expected = this.#expected();
    const closedBy: Record<string, number> = {};
    let closed = 0;
    for (const report of wait.reports.values()) {
      closed += report.closed;
      if (report.closed > 0) closedBy[report.instance] = report.closed;
    }
    const reported = expected.filter((instance) => wait.reports.has(instance)).length;
    const result: DrainResult = {
      server: wait.server,
      drained: !cancelled && closed === 0 && reported === expected.length,
      closed,
      closedBy,
      instances: { reported, expected: expected.length },
      waitedMs: Date.now() - wait.started,
      cancelled,
    };
    for (const resolve of wait.resolvers) resolve(result);
  }
}
