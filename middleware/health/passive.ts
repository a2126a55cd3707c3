import type { Logger } from '../logger.js';
import type { PassiveHealthConfig } from '../options.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import { ErrorRateWindow } from './error-rate.js';

export interface PassiveHealthOptions {
  logger: Logger;
  /** The pool's name, for log messages. */
  pool: string;
}

/** A watched server's running count; created once in watch(), mutated in place on the hot path. */
interface Tally {
  failures: number;
  /** Readmits at the end of the current ejection. */
  timer: NodeJS.Timeout | undefined;
  /** An ejection was refused by maxEjectedPercent and logged; cleared by a success or an ejection. */
  refused: boolean;
  /** With an errorRate rule: requests and failures over its window. */
  window: ErrorRateWindow | undefined;
}

/**
 * Outlier ejection from real traffic, as Envoy's outlier detection and NGINX's `max_fails` do:
 * `consecutiveFailures` failed requests in a row take a server out for
 * `min(baseEjectionMs × (ejections + 1), maxEjectionMs)`, then a timer lets it back in.
 * Writes only the server's ejection flag; the active checker may readmit earlier.
 *
 * @example
 * const passive = new PassiveHealth(pool.config.passiveHealth!, { logger, pool: pool.name });
 * for (const server of pool.servers) passive.watch(server);
 * passive.record(server, 'connect'); // from Pool.release, once per finished request
 */
export class PassiveHealth {
  readonly #config: PassiveHealthConfig;
  readonly #logger: Logger;
  readonly #pool: string;
  readonly #tallies = new Map<Server, Tally>();
  #closed = false;

  constructor(config: PassiveHealthConfig, options: PassiveHealthOptions) {
    this.#config = config;
    this.#logger = options.logger;
    this.#pool = options.pool;
  }

  /** Count this server's outcomes; it also counts towards the pool size for maxEjectedPercent. */
  watch(server: Server): void {
    const rate = this.#config.errorRate;
    if (!this.#closed && !this.#tallies.has(server)) this.#tallies.set(server, { failures: 0, timer: undefined, refused: false, window: rate ? new ErrorRateWindow(rate.windowMs) : undefined });
  }

  /** Forget a server and its readmission timer. */
  unwatch(server: Server): void {
    const tally = this.#tallies.get(server);
    if (!tally) return;
    clearTimeout(tally.timer);
    this.#tallies.delete(server);
  }

  /**
   * A finished request's outcome. On the hot path: one map lookup and a counter, no allocation;
   * only the rare ejection itself does more.
   */
  record(server: Server, outcome: Outcome): void {
    const tally = this.#tallies.get(server);
    if (tally === undefined) return;
    if (tally.window && outcome !== 'aborted' && !server.ejected) this.#recordRate(server, tally, tally.window, outcome);
    switch (outcome) {
      case 'connect':
      case 'timeout':
      case 'reset':
      case 'invalid':
        break;
      case 'http5xx':
        if (this.#config.include5xx) break;
        // not counted, but still an answer: the server is reachable, as Envoy resets its gateway-failure count
        tally.failures = 0;
        tally.refused = false;
        return;
      case 'aborted':
        return; // the client went away: says nothing about the server
      default:
        tally.failures = 0;
        tally.refused = false;
        return;
    }
    // requests sent before an ejection still finish during it: they must not stretch it
    if (server.ejected) return;
    tally.failures++;
    if (tally.failures >= this.#config.consecutiveFailures) this.#eject(server, tally, outcome);
  }

  /** The failure-rate rule: a server that fails `threshold` of its requests over the window, with at least `minRequests` of them, is ejected. */
  #recordRate(server: Server, tally: Tally, window: ErrorRateWindow, outcome: Outcome): void {
    const failed = outcome === 'connect' || outcome === 'timeout' || outcome === 'reset' || outcome === 'invalid' || outcome === 'http5xx';
    const now = Date.now();
    window.record(failed, now);
    if (!failed) return;
    const rule = this.#config.errorRate!;
    const { requests, failures } = window.totals(now);
    if (requests < rule.minRequests || failures < rule.threshold * requests) return;
    const why = `error rate ${Math.round((failures / requests) * 100)}% over ${rule.windowMs / 1000} s (${failures} of ${requests})`;
    if (this.#ejectFor(server, tally, why)) window.clear();
  }

  /** Stop every readmission timer and stop counting, for good. Servers ejected now stay so until another writer readmits them. */
  close(): void {
    this.#closed = true;
    for (const tally of this.#tallies.values()) clearTimeout(tally.timer);
    this.#tallies.clear();
  }

  #eject(server: Server, tally: Tally, outcome: Outcome): void {
    const failures = tally.failures;
    tally.failures = 0;
    this.#ejectFor(server, tally, `${failures} consecutive failure${failures === 1 ? '' : 's'} (last: ${outcome})`);
  }

  /** Eject for `why`, unless maxEjectedPercent holds it back (warned once); true when it was ejected. */
  #ejectFor(server: Server, tally: Tally, why: string): boolean {
    if (!this.#roomToEject(server)) {
      if (!tally.refused) {
        tally.refused = true;
        this.#logger.warn(
          `passive health: ${this.#pool}/${server.id} stays in despite ${why}: ejecting it would exceed maxEjectedPercent (${this.#config.maxEjectedPercent}%)`,
          { pool: this.#pool, server: server.id },
        );
      }
      return false;
    }
    tally.refused = false;
    const ms = Math.min(this.#config.baseEjectionMs * (server.ejections + 1), this.#config.maxEjectionMs);
    const until = Date.now() + ms;
    const reason = `${why}; ejected for ${ms} ms`;
    this.#logger.warn(`passive health: ${this.#pool}/${server.id} ${reason}`, { pool: this.#pool, server: server.id, url: server.url, ejections: server.ejections + 1 });
    server.eject(until, reason);
    clearTimeout(tally.timer);
    tally.timer = setTimeout(() => {
      tally.timer = undefined;
      // an active check may have readmitted it already, and a later ejection owns its own timer
      if (server.ejectedUntil === until) server.readmit('ejection time over');
    }, ms);
    tally.timer.unref();
    return true;
  }

  /**
   * Would one more ejection keep the ejected share at or below maxEjectedPercent? Primaries and
   * backups are counted apart: backups are there to take over, so while one is healthy every
   * primary may go (else a dead primary would stay in and every request would try it first).
   */
  #roomToEject(server: Server): boolean {
    let ejected = 0;
    let total = 0;
    let healthyBackup = false;
    for (const other of this.#tallies.keys()) {
      if (other.backup && !other.ejected && other.health === 'healthy' && other.state === 'active') healthyBackup = true;
      if (other.backup !== server.backup) continue;
      total++;
      if (other.ejected) ejected++;
    }
    if (!server.backup && healthyBackup) return true;
    // (ejected + 1) / total <= percent / 100, without dividing
    return (ejected + 1) * 100 <= total * this.#config.maxEjectedPercent;
  }
}
