import http from 'node:http';
import { expect } from 'chai';
import type { ServerRecord } from '../../middleware/index.js';
import { startBackends, type Backend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { FleetInstance, type CallError, type FleetOptions } from '../support/fleet.js';
import { startCluster, startSentinelSet } from '../support/redis-topology.js';
import { waitFor } from '../support/wait.js';

type Records = ServerRecord[];

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    http.get(url, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', () => resolve(0));
  });
}

async function converged(fleet: FleetInstance[], what: string, check: (records: Records) => boolean, timeoutMs = 3000): Promise<void> {
  await waitFor(what, async () => (await Promise.all(fleet.map((instance) => instance.call<Records>('records')))).every(check), timeoutMs, 10);
}

const weightOf = (records: Records, id: string): number | undefined => records.find((record) => record.id === id)?.weight;

describe('shared control state on Sentinel and Cluster', function () {
  this.timeout(40_000);
  let backends: Backend[];
  let fleet: FleetInstance[] = [];

  before(async () => {
    backends = await startBackends(2, 't');
  });
  after(() => Promise.all((backends ?? []).map((backend) => backend.close())));
  afterEach(async () => {
    await Promise.all(fleet.map((instance) => instance.close()));
    fleet = [];
  });

  function options(instanceId: string, redis: FleetOptions['redis']): FleetOptions {
    return { instanceId, redis, prefix: 'topo:', servers: backends.map((backend) => ({ id: backend.id, url: backend.url })) };
  }

  it('keeps state and converges through a Sentinel failover, failing no request', async function () {
    requireTool(this, 'redis-server');
    requireTool(this, 'redis-sentinel');
    const set = await startSentinelSet();
    try {
      const redis = { sentinels: [{ host: '127.0.0.1', port: set.sentinel.port }], name: set.name };
      fleet = await Promise.all(['s1', 's2'].map((id) => FleetInstance.start(options(id, redis))));
      await waitFor('joined', async () => (await Promise.all(fleet.map((instance) => instance.call<boolean>('available')))).every(Boolean), 5000, 20);
      await fleet[0]!.call('setWeight', 't1', 4);
      await converged(fleet, 'weight 4', (records) => weightOf(records, 't1') === 4);
      let running = true;
      let failures = 0;
      const load = (async () => {
        while (running) for (const status of await Promise.all(fleet.map((instance) => get(`${instance.url}/x`)))) if (status !== 200) failures++;
      })();
      await set.master.kill();
      // the sentinel promotes the replica; both instances reconnect to it and resync
      await waitFor('a commit goes through after the failover', async () => (await fleet[1]!.attempt('setWeight', 't1', 6)).ok, 15_000, 200);
      await converged(fleet, 'weight 6 after the failover', (records) => weightOf(records, 't1') === 6, 5000);
      running = false;
      await load;
      expect(failures).to.equal(0);
    } finally {
      await set.close();
    }
  });

  it('works on a 3-node Redis Cluster: changes spread, conflicts are caught', async function () {
    requireTool(this, 'redis-server');
    requireTool(this, 'redis-cli');
    const cluster = await startCluster();
    try {
      const redis = { cluster: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) };
      fleet = await Promise.all(['c1', 'c2', 'c3'].map((id) => FleetInstance.start(options(id, redis))));
      await waitFor('joined', async () => (await Promise.all(fleet.map((instance) => instance.call<boolean>('available')))).every(Boolean), 8000, 20);
      await fleet[0]!.call('setWeight', 't2', 5);
      await fleet[1]!.call('disable', 't1');
      await converged(fleet, 'both changes everywhere', (records) => weightOf(records, 't2') === 5 && records.find((record) => record.id === 't1')?.admin === 'disabled');
      let conflicts = 0;
      for (let round = 0; round < 20 && conflicts === 0; round++) {
        const replies = await Promise.all([fleet[0]!.attempt('setWeight', 't2', 10 + round), fleet[2]!.attempt('setWeight', 't2', 50 + round)]);
        const failed = replies.filter((reply) => !reply.ok) as Array<{ error: CallError }>;
        if (failed.length === 1) {
          conflicts++;
          expect(failed[0]!.error.code).to.equal('CONFLICT');
        }
        await waitFor('agree', async () => new Set(await Promise.all(fleet.map(async (instance) => weightOf(await instance.call<Records>('records'), 't2')))).size === 1, 3000, 10);
      }
      expect(conflicts).to.equal(1);
    } finally {
      await cluster.close();
    }
  });
});
