import type { Logger } from '../logger.js';
import type { PoolConfig } from '../options.js';
import type { PoolHealth } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import { ActiveChecker } from './active-checker.js';
import { PassiveHealth } from './passive.js';

export { ActiveChecker } from './active-checker.js';
export { PassiveHealth } from './passive.js';
export { createProbe, type Probe, type ProbeResult } from './probes.js';

/**
 * A pool's health: active checks and passive ejection side by side, each writing its own flag on
 * the server. `undefined` when the pool has neither (`healthCheck` unset and `passiveHealth: false`).
 *
 * @example
 * const health = createPoolHealth(pool, config.logger);
 * if (health) pool.useHealth(health);
 */
export function createPoolHealth(pool: { readonly servers: readonly Server[]; readonly config: PoolConfig }, logger: Logger, shared?: { gate(): boolean; publish(server: Server): void }): PoolHealth | undefined {
  const { name, healthCheck, passiveHealth, tls } = pool.config;
  const active = healthCheck ? new ActiveChecker(healthCheck, { tls, logger, pool: name, gate: shared?.gate, publish: shared?.publish }) : undefined;
  const passive = passiveHealth ? new PassiveHealth(passiveHealth, { logger, pool: name }) : undefined;
  if (!active && !passive) return undefined;
  return {
    watch(server: Server): void {
      passive?.watch(server);
      active?.watch(server);
    },
    unwatch(server: Server): void {
      active?.unwatch(server);
      passive?.unwatch(server);
    },
    // bound once, so that a pool without passive health pays one empty call per request
    record: passive ? (server: Server, outcome: Outcome) => passive.record(server, outcome) : () => {},
    close(): void {
      active?.close();
      passive?.close();
    },
  };
}
