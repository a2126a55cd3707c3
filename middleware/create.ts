import { Balancer } from './balancer.js';
import { normalizeOptions, type BalancerOptions } from './options.js';

/**
 * Create a balancer. Options are checked here, once: a bad one throws a ConfigError
 * naming its path (`pools.api.healthCheck.timeoutMs`) and what was expected.
 *
 * @example
 * const balancer = createBalancer({
 *   pools: { api: { servers: [{ id: 'api-1', url: 'http://127.0.0.1:4001' }] } },
 *   routes: [{ path: '/api', pool: 'api' }],
 * });
 * app.use(balancer.express());
 */
export function createBalancer(options: BalancerOptions): Balancer {
  return new Balancer(normalizeOptions(options));
}
