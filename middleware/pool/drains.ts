import type { Server } from './server.js';

interface Watch {
  readonly drainId: string;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
}

export interface LocalDrainsOptions {
  /** This instance has nothing left on `server` for this drain (`closed` were cut at the deadline). */
  report(server: Server, drainId: string, closed: number): void;
  /** The drain was called off here (the record is no longer draining, or drains anew). */
  cancelled(drainId: string): void;
}

/**
 * This instance's side of every drain: when a server's record starts draining, watch its
 * in-flight requests; report when it goes idle, or at the deadline cut what is left and report
 * how many. Drains are data in the record (an id and a deadline), so every instance runs the
 * same drain and the one that asked collects the reports.
 */
export class LocalDrains {
  readonly #watches = new Map<Server, Watch>();
  readonly #options: LocalDrainsOptions;

  constructor(options: LocalDrainsOptions) {
    this.#options = options;
  }

  /** The server's record changed: start, move or end its drain. */
  sync(server: Server): void {
    const drain = server.record.drain;
    const watch = this.#watches.get(server);
    if (watch && (!drain || drain.id !== watch.drainId)) {
      this.#stop(server, watch);
      this.#options.cancelled(watch.drainId);
    }
    if (!drain) return;
    const current = this.#watches.get(server);
    if (current) {
      if (current.deadline !== drain.deadline) this.#arm(server, current, drain.deadline);
      return;
    }
    const fresh: Watch = { drainId: drain.id, deadline: drain.deadline, timer: undefined };
    this.#watches.set(server, fresh);
    if (server.active === 0) return this.#finish(server, 0);
    this.#arm(server, fresh, drain.deadline);
  }

  /** A request on `server` ended; report the drain once it is idle. */
  released(server: Server): void {
    if (server.active === 0 && this.#watches.has(server)) this.#finish(server, 0);
  }

  /** The server left the pool: its drain ends with it (whoever removed it already knows). */
  forget(server: Server): void {
    const watch = this.#watches.get(server);
    if (watch) this.#stop(server, watch);
  }

  close(): void {
    for (const [server, watch] of this.#watches) this.#stop(server, watch);
  }

  #arm(server: Server, watch: Watch, deadline: number): void {
    watch.deadline = deadline;
    clearTimeout(watch.timer);
    watch.timer = setTimeout(() => this.#deadlinePassed(server), Math.max(0, deadline - Date.now()));
    watch.timer.unref();
  }

  #deadlinePassed(server: Server): void {
    const handles = server.inFlight.toArray();
    for (const handle of handles) handle.abort();
    this.#finish(server, handles.length);
  }

  #finish(server: Server, closed: number): void {
    const watch = this.#watches.get(server);
    if (!watch) return;
    this.#stop(server, watch);
    this.#options.report(server, watch.drainId, closed);
  }

  #stop(server: Server, watch: Watch): void {
    clearTimeout(watch.timer);
    this.#watches.delete(server);
  }
}
