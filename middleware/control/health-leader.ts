import type { Server } from '../pool/server.js';
import { RedisLease } from './redis-lease.js';
import type { HealthReport, RedisControlStore } from './redis-store.js';

/** What the active checker is given: probe only when `gate()` says so, and `publish` after a verdict. */
export interface SharedHealthHooks {
  gate(): boolean;
  publish(server: Server): void;
}

/**
 * One pool's health-check leader across the fleet. The instance holding the pool's lease probes
 * and publishes the pool's health (on every verdict and every interval); the others probe
 * nothing and apply what it publishes. When the leader dies its lease lapses (three intervals)
 * and the next instance to renew takes over. With Redis unreachable every instance probes for
 * itself again, so health never rests on the store. Passive ejection is always local.
 */
export class HealthLeader implements SharedHealthHooks {
  readonly #store: RedisControlStore;
  readonly #pool: string;
  readonly #instanceId: string;
  readonly #servers: () => readonly Server[];
  readonly #lease: RedisLease;
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;
  #leading = false;
  #ticking = false;
  #publishQueued = false;
  #closed = false;

  constructor(store: RedisControlStore, pool: string, instanceId: string, intervalMs: number, servers: () => readonly Server[]) {
    this.#store = store;
    this.#pool = pool;
    this.#instanceId = instanceId;
    this.#servers = servers;
    // a lapsed leader is replaced within about three intervals, never sooner than a second
    this.#lease = new RedisLease(store.client, store.key(`lease:health:${pool}`), instanceId, Math.max(1000, intervalMs * 3));
    this.#unsubscribe = store.onHealth((report) => this.#apply(report));
    this.#timer = setInterval(() => void this.#tick(), Math.max(200, intervalMs));
    this.#timer.unref();
    void this.#tick();
  }

  /** Does this instance lead the pool's checks now? */
  get leading(): boolean {
    return this.#leading;
  }

  gate = (): boolean => this.#leading || !this.#store.available;

  publish = (): void => {
    if (!this.#leading || this.#publishQueued) return;
    this.#publishQueued = true;
    queueMicrotask(() => {
      this.#publishQueued = false;
      this.#publishAll();
    });
  };

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unsubscribe();
    // with Redis away the lease lapses by itself; a release would only wait in the client's queue
    if (this.#leading && this.#store.available) await this.#lease.release();
    this.#leading = false;
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      this.#leading = this.#store.available ? await this.#lease.acquire() : false;
      if (this.#closed) return;
      if (this.#leading) this.#publishAll();
    } finally {
      this.#ticking = false;
    }
  }

  #publishAll(): void {
    const healthy: Record<string, boolean> = {};
    for (const server of this.#servers()) {
      if (server.check !== 'pending') healthy[server.id] = server.check === 'healthy';
    }
    this.#store.publishHealth({ instance: this.#instanceId, pool: this.#pool, healthy, at: Date.now() });
  }

  #apply(report: HealthReport): void {
    if (report.pool !== this.#pool || this.#leading || this.#closed) return;
    for (const server of this.#servers()) {
      const healthy = report.healthy[server.id];
      if (healthy === undefined) continue;
      const check = healthy ? 'healthy' : 'unhealthy';
      if (server.check !== check) server.setCheck(check, `reported by ${report.instance}, the pool's check leader`);
    }
  }
}
