import type { Logger } from '../logger.js';
import type { HealthCheckConfig, TlsOptions } from '../options.js';
import type { Server } from '../pool/server.js';
import { createProbe, type Probe, type ProbeResult } from './probes.js';

export interface ActiveCheckerOptions {
  /** The pool's `tls` options, for https servers. */
  tls: TlsOptions;
  logger: Logger;
  /** The pool's name, for log messages. */
  pool: string;
  /** Shared health: probe only while this says so (this instance leads the pool's checks). */
  gate?: () => boolean;
  /** Shared health: called after each verdict, for the leader to publish. */
  publish?: (server: Server) => void;
}

/** One watched server: its probe, its next timer or in-flight attempt, and its streaks. */
interface Watch {
  readonly server: Server;
  readonly probe: Probe;
  timer: NodeJS.Timeout | undefined;
  inFlight: AbortController | undefined;
  failures: number;
  successes: number;
}

/**
 * Probes each watched server on its own loop and writes the verdict to the server's `check`
 * flag (HAProxy's `inter`, `fall`, `rise`). The next probe is scheduled only after the previous
 * one completes, so probes of one server never overlap, whatever the jitter or a slow server.
 *
 * @example
 * const checker = new ActiveChecker(pool.config.healthCheck!, { tls: pool.config.tls, logger, pool: pool.name });
 * for (const server of pool.servers) checker.watch(server);
 * checker.close();
 */
export class ActiveChecker {
  readonly #config: HealthCheckConfig;
  readonly #tls: TlsOptions;
  readonly #logger: Logger;
  readonly #pool: string;
  readonly #watches = new Map<Server, Watch>();
  readonly #gate: (() => boolean) | undefined;
  readonly #publish: ((server: Server) => void) | undefined;
  #closed = false;

  constructor(config: HealthCheckConfig, options: ActiveCheckerOptions) {
    this.#config = config;
    this.#tls = options.tls;
    this.#logger = options.logger;
    this.#pool = options.pool;
    this.#gate = options.gate;
    this.#publish = options.publish;
  }

  /** Start checking a server: the first probe runs now. Watching twice, or after close(), is a no-op. */
  watch(server: Server): void {
    if (this.#closed || this.#watches.has(server)) return;
    const watch: Watch = { server, probe: createProbe(server, this.#config, this.#tls), timer: undefined, inFlight: undefined, failures: 0, successes: 0 };
    this.#watches.set(server, watch);
    this.#run(watch);
  }

  /** Stop checking a server: cancel its timer and abort a probe in flight (its result is dropped). */
  unwatch(server: Server): void {
    const watch = this.#watches.get(server);
    if (!watch) return;
    this.#watches.delete(server);
    clearTimeout(watch.timer);
    watch.timer = undefined;
    watch.inFlight?.abort();
    watch.inFlight = undefined;
  }

  /** Stop every loop, for good: a server added to a closed pool is not checked. */
  close(): void {
    this.#closed = true;
    for (const server of [...this.#watches.keys()]) this.unwatch(server);
  }

  /** How many servers are watched (for tests and the dashboard). */
  get size(): number {
    return this.#watches.size;
  }

  #run(watch: Watch): void {
    watch.timer = undefined;
    if (this.#gate && !this.#gate()) {
      // another instance leads this pool's checks: look again next interval
      watch.timer = setTimeout(() => this.#run(watch), this.#nextDelay());
      watch.timer.unref();
      return;
    }
    const controller = new AbortController();
    watch.inFlight = controller;
    void watch.probe(controller.signal).then((result) => {
      if (controller.signal.aborted) return; // unwatched meanwhile: no verdict, no next probe
      watch.inFlight = undefined;
      try {
        this.#judge(watch, result);
        this.#publish?.(watch.server);
      } catch (error) {
        // a 'change' listener that throws must not stop this server's checks
        this.#logger.error(`health check of ${this.#pool}/${watch.server.id}: a listener threw`, { error });
      }
      watch.timer = setTimeout(() => this.#run(watch), this.#nextDelay());
      watch.timer.unref();
    });
  }

  /** Apply the thresholds. A new server (`pending`) is admitted on its first pass, as DESIGN.md says. */
  #judge(watch: Watch, result: ProbeResult): void {
    const { server } = watch;
    const config = this.#config;
    server.recordCheck({ at: Date.now(), ok: result.ok, reason: result.reason });
    if (result.ok) {
      watch.failures = 0;
      watch.successes++;
      // Envoy's successful_active_health_check_uneject_host: a passing probe outranks the ejection timer
      if (server.ejected) server.readmit('passed active check');
      if (server.check === 'pending') server.setCheck('healthy', `${result.reason} (first check)`);
      else if (server.check === 'unhealthy' && watch.successes >= config.healthyThreshold) {
        server.setCheck('healthy', `${result.reason} (${watch.successes} in a row)`);
      }
    } else {
      watch.successes = 0;
      watch.failures++;
      if (server.check !== 'unhealthy' && watch.failures >= config.unhealthyThreshold) {
        const reason = `${result.reason} (${watch.failures} in a row)`;
        this.#logger.warn(`health check: ${this.#pool}/${server.id} is unhealthy: ${reason}`, { pool: this.#pool, server: server.id, url: server.url });
        server.setCheck('unhealthy', reason);
      }
    }
  }

  /** `intervalMs` ± `jitter` × interval, so that balancer instances do not probe in lockstep. */
  #nextDelay(): number {
    const { intervalMs, jitter } = this.#config;
    return Math.max(0, Math.round(intervalMs * (1 + jitter * (2 * Math.random() - 1))));
  }
}
