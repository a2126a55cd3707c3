import type { BalancerSnapshot } from '../middleware/balancer.js';
import type { PoolSnapshot } from '../middleware/pool/pool.js';
import type { ServerSnapshot } from '../middleware/pool/server.js';

/** A server's part of its pool's traffic, as fractions from 0 to 1. */
export interface Share {
  /**
   * Of the pool's requests (a TCP pool: new connections) over the last ten whole seconds; null
   * when the pool had none. What the balancer actually did.
   */
  recent: number | null;
  /** What the configuration asks for now: its weight over the eligible servers' weights, 0 when not eligible. */
  configured: number;
}

/**
 * Each server's recent and configured share, by id. Both rates are averages over the same ten
 * seconds (see RateWindow), so their ratio is the ratio of the counts.
 */
export function poolShares(pool: PoolSnapshot): Map<string, Share> {
  const rates = pool.servers.map((server) => rateOf(pool, server));
  const total = rates.reduce((sum, rate) => sum + rate, 0);
  const eligible = pool.servers.filter((server) => server.eligible);
  // round-robin takes each eligible server in turn whatever its weight
  const weightOf = (server: ServerSnapshot) => (pool.algorithm === 'round-robin' ? 1 : server.weight);
  const weights = eligible.reduce((sum, server) => sum + weightOf(server), 0);
  const shares = new Map<string, Share>();
  pool.servers.forEach((server, i) => {
    shares.set(server.id, {
      recent: total > 0 ? rates[i]! / total : null,
      configured: server.eligible && weights > 0 ? weightOf(server) / weights : 0,
    });
  });
  return shares;
}

export type SharedPool = Omit<PoolSnapshot, 'servers'> & { servers: Array<ServerSnapshot & { share: Share }> };
export type SharedSnapshot = Omit<BalancerSnapshot, 'pools'> & { pools: Record<string, SharedPool> };

/** The balancer's snapshot with each server's `share`: what `GET api/pools` answers. */
export function withShares(snapshot: BalancerSnapshot): SharedSnapshot {
  const pools: Record<string, SharedPool> = {};
  for (const [name, pool] of Object.entries(snapshot.pools)) {
    const shares = poolShares(pool);
    pools[name] = { ...pool, servers: pool.servers.map((server) => ({ ...server, share: shares.get(server.id)! })) };
  }
  return { ...snapshot, pools };
}

/** "42%"; "–" when there is nothing to divide. */
export function percent(fraction: number | null): string {
  return fraction === null ? '–' : `${Math.round(fraction * 100)}%`;
}

function rateOf(pool: PoolSnapshot, server: ServerSnapshot): number {
  return pool.protocol === 'tcp' ? (server.tcp?.connectionsPerSecond ?? 0) : server.rps;
}
