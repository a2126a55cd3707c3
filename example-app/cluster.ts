import { spawn, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { Redis } from 'ioredis';
import { RedisControlStore } from '../middleware/index.js';
import { createExampleApp } from './app.js';
import { startDemoBackend, type DemoBackend } from './demo-backends.js';
import { startDemoTraffic } from './demo-traffic.js';

/**
 * `npm run start:cluster`: the example app as CLUSTER (default 4) node:cluster workers on PORT
 * (default 3000), every worker a balancer instance sharing control state through Redis: a change
 * on one worker's dashboard shows on all, and the dashboard's fleet line counts them. Uses
 * REDIS_URL, or starts its own redis-server on a free port.
 */
async function primary(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const workers = Number(process.env.CLUSTER ?? 4);
  let redisChild: ChildProcess | undefined;
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const redisPort = await freePort();
    redisChild = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir()], { stdio: 'ignore' });
    redisChild.once('error', (error) => {
      console.error(`could not start redis-server (${error.message}): install it, or give REDIS_URL`);
      process.exit(1);
    });
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    await waitForRedis(redisUrl);
  }
  const backends: DemoBackend[] = await Promise.all([startDemoBackend('api-1', 'api'), startDemoBackend('api-2', 'api'), startDemoBackend('static-1', 'static')]);
  const env = {
    REDIS_URL: redisUrl,
    BACKENDS: JSON.stringify(Object.fromEntries(backends.map((backend) => [backend.id, backend.url]))),
    // every worker must sign affinity cookies alike and accept the same password
    AFFINITY_SECRET: process.env.AFFINITY_SECRET ?? randomBytes(24).toString('base64url'),
    DASHBOARD_PASSWORD: process.env.DASHBOARD_PASSWORD ?? randomBytes(9).toString('base64url'),
    PORT: String(port),
  };
  let ready = 0;
  let stopTraffic = (): void => {};
  for (let i = 0; i < workers; i++) {
    cluster.fork(env).on('message', (message: { ready?: boolean }) => {
      if (!message.ready || ++ready < workers) return;
      const base = `http://localhost:${port}`;
      console.log(`switchyard example app on ${base}: ${workers} workers sharing control state through ${redisUrl}${redisChild ? ' (started here)' : ''}`);
      console.log(`  ${base}/admin/ → the dashboard (any worker): user ops, password ${env.DASHBOARD_PASSWORD}`);
      console.log('  change a weight there: every worker applies it; the fleet line says "converged on N/N".');
      if (process.env.DEMO_TRAFFIC !== 'off') stopTraffic = startDemoTraffic(base);
    });
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) process.exit(1);
    stopping = true;
    stopTraffic();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const check = (): void => (Object.keys(cluster.workers ?? {}).length === 0 ? resolve() : void setTimeout(check, 50));
      check();
    });
    await Promise.all(backends.map((backend) => backend.close()));
    redisChild?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function worker(): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  redis.on('error', () => {}); // the store reports an unreachable Redis itself
  const example = await createExampleApp({
    password: process.env.DASHBOARD_PASSWORD!,
    backendUrls: JSON.parse(process.env.BACKENDS!) as Record<'api-1' | 'api-2' | 'static-1', string>,
    control: { store: new RedisControlStore(redis, { prefix: 'switchyard-example:' }), instanceId: `worker-${cluster.worker?.id ?? process.pid}` },
  });
  const server = http.createServer(example.app);
  example.balancer.attach(server);
  server.listen(Number(process.env.PORT), () => process.send?.({ ready: true }));
  process.on('SIGTERM', async () => {
    server.closeAllConnections();
    server.close();
    await example.close();
    redis.disconnect();
    process.exit(0);
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForRedis(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  client.on('error', () => {});
  await client.connect().catch(() => {});
  await client.ping();
  client.disconnect();
}

(cluster.isPrimary ? primary() : worker()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
