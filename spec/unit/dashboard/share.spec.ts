import { expect } from 'chai';
import type { PoolSnapshot } from '../../../middleware/pool/pool.js';
import type { ServerSnapshot } from '../../../middleware/pool/server.js';
import type { TcpStatsSnapshot } from '../../../middleware/tcp/tcp-stats.js';
import { percent, poolShares, withShares } from '../../../dashboard/share.js';
import { poolView } from '../../../dashboard/view-model.js';
import { emptyQueue, serverSnapshot } from './view-model.spec.js';

function pool(servers: ServerSnapshot[], changes: Partial<PoolSnapshot> = {}): PoolSnapshot {
  return { name: 'api', algorithm: 'weighted-round-robin', sticky: false, eligible: servers.filter((s) => s.eligible).length, panic: false, retrying: 0, queue: emptyQueue(), servers, ...changes };
}

const server = (id: string, weight: number, rps: number, changes: Partial<ServerSnapshot> = {}) => serverSnapshot({ id, weight, effectiveWeight: weight, rps, ...changes });

describe('dashboard shares', () => {
  // config → [recent, configured] per server, in percent as the page shows them
  const scenarios: Array<[name: string, snapshot: PoolSnapshot, expected: Array<[string, string]>]> = [
    ['weights 3:1, traffic 3:1', pool([server('a', 3, 7.5), server('b', 1, 2.5)]), [['75%', '75%'], ['25%', '25%']]],
    ['weights 3:1, no traffic in the window', pool([server('a', 3, 0), server('b', 1, 0)]), [['–', '75%'], ['–', '25%']]],
    ['an ineligible server has no configured share, but its recent traffic counts', pool([server('a', 2, 3), server('b', 2, 1, { eligible: false, state: 'draining' }), server('c', 2, 0)]), [['75%', '50%'], ['25%', '0%'], ['0%', '50%']]],
    ['round-robin ignores weights', pool([server('a', 5, 1), server('b', 1, 1)], { algorithm: 'round-robin' }), [['50%', '50%'], ['50%', '50%']]],
    ['nothing eligible', pool([server('a', 1, 0, { eligible: false })]), [['–', '0%']]],
    ['a TCP pool counts new connections', pool([server('r1', 1, 0, { tcp: tcpStats(3) }), server('r2', 1, 0, { tcp: tcpStats(1) })], { protocol: 'tcp' }), [['75%', '50%'], ['25%', '50%']]],
  ];

  for (const [name, snapshot, expected] of scenarios) {
    it(name, () => {
      const shares = poolShares(snapshot);
      expect(snapshot.servers.map((s) => [percent(shares.get(s.id)!.recent), percent(shares.get(s.id)!.configured)])).to.deep.equal(expected);
      // the page shows the same figures in the row's cells
      expect(poolView(snapshot, null, 0).servers.map((s) => [s.cells.share, s.cells.configured])).to.deep.equal(expected);
    });
  }

  it('adds the shares, as fractions, to each server of the snapshot the JSON API answers', () => {
    const snapshot = { at: 0, instance: 'i', revision: 0, pools: { api: pool([server('a', 3, 1.5), server('b', 1, 0.5)]) } };
    const shared = withShares(snapshot);
    expect(shared.pools.api!.servers.map((s) => s.share)).to.deep.equal([{ recent: 0.75, configured: 0.75 }, { recent: 0.25, configured: 0.25 }]);
    expect(shared.pools.api!.servers[0]).to.include({ id: 'a', weight: 3 });
    expect(snapshot.pools.api.servers[0], 'the snapshot itself is left alone').to.not.have.property('share');
  });
});

function tcpStats(connectionsPerSecond: number): TcpStatsSnapshot {
  return {
    connections: 0, connectionsPerSecond, bytesIn: 0, bytesOut: 0, bufferedBytes: 0,
    connectErrors: { refused: 0, timeout: 0 }, connectMs: { p50: null, p95: null, p99: null },
    connectTime: { bounds: [0.1, 1], counts: [0, 0], sumSeconds: 0, count: 0 },
    closed: { client: 0, server: 0, idle: 0, drain: 0, error: 0 },
  };
}
