import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './ports.js';

const run = promisify(execFile);

/** A redis-server or redis-sentinel child process on a free port, killed with the test run. */
export class RedisProcess {
  readonly port: number;
  readonly #child: ChildProcess;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.#child = child;
  }

  static async spawn(command: 'redis-server' | 'redis-sentinel', args: (port: number, dir: string) => string[]): Promise<RedisProcess> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sy-redis-'));
    const child = spawn(command, args(port, dir), { stdio: 'ignore', cwd: dir });
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.on('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const processHandle = new RedisProcess(port, child);
    await waitForPort(port);
    return processHandle;
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

const SERVER_ARGS = (port: number, dir: string): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];

/** A master, one replica and one sentinel (quorum 1) that fails over half a second after the master goes. */
export async function startSentinelSet(): Promise<{ master: RedisProcess; replica: RedisProcess; sentinel: RedisProcess; name: string; close(): Promise<void> }> {
  const master = await RedisProcess.spawn('redis-server', SERVER_ARGS);
  const replica = await RedisProcess.spawn('redis-server', (port, dir) => [...SERVER_ARGS(port, dir), '--replicaof', '127.0.0.1', String(master.port)]);
  const sentinel = await RedisProcess.spawn('redis-sentinel', (port, dir) => {
    const file = path.join(dir, 'sentinel.conf');
    writeFileSync(file, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds mymaster 500',
      'sentinel failover-timeout mymaster 2000',
      'sentinel parallel-syncs mymaster 1', '',
    ].join('\n'));
    return [file];
  });
  return { master, replica, sentinel, name: 'mymaster', close: async () => void (await Promise.all([master.kill(), replica.kill(), sentinel.kill()])) };
}

/** Three masters with no replicas, slots spread by redis-cli --cluster create. */
export async function startCluster(): Promise<{ nodes: RedisProcess[]; close(): Promise<void> }> {
  const nodes = await Promise.all([0, 1, 2].map(() => RedisProcess.spawn('redis-server', (port, dir) => [
    ...SERVER_ARGS(port, dir), '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
  ])));
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
  const deadline = Date.now() + 10_000;
  for (const node of nodes) {
    for (;;) {
      const { stdout } = await run('redis-cli', ['-p', String(node.port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error('the cluster did not come up');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { nodes, close: async () => void (await Promise.all(nodes.map((node) => node.kill()))) };
}

