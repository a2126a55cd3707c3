import { expect } from 'chai';
import { createBalancer, type AlgorithmName, type Balancer } from '../../middleware/index.js';
import { startBackends, type Backend } from '../support/backends.js';
import { startHost, type Host } from '../support/hosts.js';
import { sleep, slowEcho, startLoad, type LoadResult } from '../support/load.js';

function shareOf(results: LoadResult[], backend: string, from: number, to: number): number {
  const window = results.filter((r) => r.at >= from && r.at < to);
  return window.filter((r) => r.backend === backend).length / Math.max(1, window.length);
}

for (const algorithm of ['least-connections', 'weighted-round-robin'] as AlgorithmName[]) {
  describe(`slow start with ${algorithm}`, () => {
    let backends: Backend[];
    let balancer: Balancer;
    let host: Host;

    before(async () => {
      backends = await startBackends(3, 's', slowEcho(20));
      balancer = createBalancer({
        pools: { api: { algorithm, slowStartMs: 3000, servers: backends.slice(0, 2).map((b) => ({ id: b.id, url: b.url })) } },
      });
      host = await startHost('wrap', balancer);
    });

    after(async () => {
      await host.close();
      await balancer.close();
      await Promise.all(backends.map((b) => b.close()));
    });

    it('ramps a new server up instead of flooding it', async function () {
      this.timeout(15000);
      const load = startLoad(host.url, { concurrency: 9 });
      await sleep(300); // a steady state on the first two
      const added = Date.now();
      balancer.pool('api').addServer({ id: 's3', url: backends[2]!.url });
      const ramping = balancer.snapshot().pools.api!.servers.find((s) => s.id === 's3')!;
      expect(ramping.slowStart).to.equal(true);
      expect(ramping.effectiveWeight).to.be.below(0.1);
      await sleep(3600);
      const results = await load.stop();

      const firstTenth = shareOf(results, 's3', added, added + 300);
      const afterRamp = shareOf(results, 's3', added + 3100, added + 3600);
      // at full weight its share is a third; in the first tenth of the ramp it stays well under
      expect(firstTenth, `first tenth ${firstTenth.toFixed(3)}`).to.be.below(0.1);
      expect(afterRamp, `after the ramp ${afterRamp.toFixed(3)}`).to.be.above(0.22);
      expect(results.every((r) => r.status === 200)).to.equal(true);
    });
  });
}
