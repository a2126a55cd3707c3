/**
 * `npm run bench:shared`: how fast a control change reaches every instance sharing state over
 * Redis, and what the shared store costs on the request path.
 *
 * 1. For N = 2, 4, 8 balancer processes on one redis-server: 1,000 weight changes committed one
 *    after another on one instance; for every other instance, the time from the writer applying
 *    revision r to that instance applying it (same host, same clock). p50, p99, max.
 * 2. Requests through `wrap()` of an instance with the Redis store and one without, interleaved
 *    over rounds in one run: requests per second of each, and their ratio.
 */
import http from 'node:http';
import { startBackends } from '../../spec/support/backends.js';
import { FleetInstance } from '../../spec/support/fleet.js';
import { RedisServer } from '../../spec/support/redis-server.js';

const CHANGES = Number(process.env.CHANGES ?? 1000);
const SIZES = (process.env.SIZES ?? '2,4,8').split(',').map(Number);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function convergence(redis: RedisServer, servers: Array<{ id: string; url: string }>, n: number): Promise<{ p50: number; p99: number; max: number; samples: number }> {
  const prefix = `bench${n}:`;
  const fleet = await Promise.all(Array.from({ length: n }, (_, i) => FleetInstance.start({ instanceId: `b${i + 1}`, redis: { url: redis.url }, prefix, servers, heartbeatMs: 1000 })));
  try {
    for (const instance of fleet) while (!(await instance.call<boolean>('available'))) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [writer, ...readers] = fleet as [FleetInstance, ...FleetInstance[]];
    const startCount = writer.changes.length;
    const finalRevision = await writer.call<number>('burst', servers[0]!.id, CHANGES);
    const written = new Map(writer.changes.slice(startCount).map((change) => [change.revision, change.at]));
    await until(() => readers.every((reader) => reader.changes.some((change) => change.revision >= finalRevision)), 30_000);
    const delays: number[] = [];
    for (const reader of readers) {
      for (const change of reader.changes) {
        const at = written.get(change.revision);
        if (at !== undefined) delays.push(change.at - at);
      }
    }
    delays.sort((a, b) => a - b);
    return { p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays.at(-1) ?? NaN, samples: delays.length };
  } finally {
    await Promise.all(fleet.map((instance) => instance.close()));
  }
}

/** Requests per second through one instance: `total` GETs, 16 at a time, keep-alive. */
async function throughput(url: string, total: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next++ < total) {
      await new Promise<void>((resolve, reject) => http.get(`${url}/x`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    }
  }));
  agent.destroy();
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function requestCost(redis: RedisServer, servers: Array<{ id: string; url: string }>): Promise<{ shared: number; memory: number; ratio: number }> {
  const shared = await FleetInstance.start({ instanceId: 'shared', redis: { url: redis.url }, prefix: 'cost:', servers });
  const memory = await FleetInstance.start({ instanceId: 'memory', redis: { url: redis.url }, prefix: 'cost:', servers, memory: true });
  try {
    await throughput(shared.url, 2000);
    await throughput(memory.url, 2000);
    const rounds: Array<{ shared: number; memory: number }> = [];
    for (let round = 0; round < 5; round++) {
      // alternate which goes first, so neither always runs on a warmer machine
      const first = round % 2 === 0;
      const a = await throughput(first ? shared.url : memory.url, 5000);
      const b = await throughput(first ? memory.url : shared.url, 5000);
      rounds.push(first ? { shared: a, memory: b } : { shared: b, memory: a });
    }
    const median = (values: number[]): number => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const sharedRps = median(rounds.map((round) => round.shared));
    const memoryRps = median(rounds.map((round) => round.memory));
    return { shared: sharedRps, memory: memoryRps, ratio: memoryRps / sharedRps };
  } finally {
    await Promise.all([shared.close(), memory.close()]);
  }
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const backends = await startBackends(2, 'x');
  const servers = backends.map((backend) => ({ id: backend.id, url: backend.url }));
  try {
    console.log(`convergence: ${CHANGES} changes written on one instance, time until applied on each other instance`);
    for (const n of SIZES) {
      const result = await convergence(redis, servers, n);
      const aims = n === 8 ? `  (aims at N=8: p99 <= 100 ms ${result.p99 <= 100 ? 'met' : 'MISSED'}, max < 1 s ${result.max < 1000 ? 'met' : 'MISSED'})` : '';
      console.log(`  N=${n}: p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms over ${result.samples} applications${aims}`);
    }
    const cost = await requestCost(redis, servers);
    console.log(`request path through wrap(): ${cost.shared.toFixed(0)} req/s with the Redis store, ${cost.memory.toFixed(0)} req/s without; cost ${((cost.ratio - 1) * 100).toFixed(1)}% (aim within 3%)`);
  } finally {
    await Promise.all(backends.map((backend) => backend.close()));
    await redis.kill();
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
