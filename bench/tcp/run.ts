/**
 * `npm run bench:tcp`: layer 4 proxies side by side in one run, on one machine: switchyard's
 * listenTcp, a bare node `net` + `pipe()` forwarder (the yardstick), HAProxy `mode tcp` and
 * NGINX `stream` (one thread or worker each, as node has one). Each round, through every proxy:
 * `redis-benchmark -t ping,set,get -n N -P 1 -c 50` to a real redis-server (many small
 * request/response exchanges), then BYTES up to a sink and BYTES down from a source (bulk).
 * Medians of ROUNDS rounds, proxies in a rotating order; ratios against bare and HAProxy.
 *
 *   TCP_BENCH_REQUESTS=100000 TCP_BENCH_BYTES=1073741824 TCP_BENCH_ROUNDS=3 npm run bench:tcp
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processCpuTicks } from '../proc.js';
import { freePort, waitForPort } from '../../spec/support/ports.js';
import { sendBytes } from './send-bytes.js';

const REQUESTS = Number(process.env.TCP_BENCH_REQUESTS ?? 100_000);
const BYTES = Number(process.env.TCP_BENCH_BYTES ?? 1024 ** 3);
const ROUNDS = Number(process.env.TCP_BENCH_ROUNDS ?? 3);
const TESTS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET'] as const;
const NGINX_STREAM = '/usr/lib/nginx/modules/ngx_stream_module.so';

interface Ports { redis: number; sink: number; source: number }
interface Proxy { name: string; ports: Ports; pid: number }
/** Throughputs, and the proxy's CPU ticks per phase (less noisy than throughput on a shared machine). */
interface Sample { rps: Record<string, number>; upMBs: number; downMBs: number; cpuRedis: number; cpuBulk: number }

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-tcp-'));
  const redisPort = await freePort();
  spawnChild('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await waitForPort(redisPort);
  const bulk = JSON.parse(await firstLine(spawnChild(process.execPath, [path.join(__dirname, 'bulk-servers.js'), String(BYTES)]))) as { sink: number; source: number };
  const targets: Ports = { redis: redisPort, sink: bulk.sink, source: bulk.source };
  const proxies: Proxy[] = [
    { name: 'bare', ...(await nodeForwarder('bare', targets)) },
    { name: 'switchyard', ...(await nodeForwarder('switchyard', targets)) },
  ];
  if (await hasCommand('haproxy')) proxies.push({ name: 'haproxy', ...(await haproxy(dir, targets)) });
  else console.error('haproxy not installed (apt-get install -y haproxy): skipped');
  if ((await hasCommand('nginx')) && existsSync(NGINX_STREAM)) proxies.push({ name: 'nginx', ...(await nginx(dir, targets)) });
  else console.error('nginx with the stream module not installed (apt-get install -y nginx libnginx-mod-stream): skipped');

  const samples = new Map<string, Sample[]>(proxies.map((proxy) => [proxy.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = proxies.map((_, i) => proxies[(i + round) % proxies.length]!);
    for (const proxy of order) {
      const cpu0 = treeCpu(proxy.pid);
      const rps = await redisBenchmark(proxy.ports.redis);
      const cpu1 = treeCpu(proxy.pid);
      const upMBs = await upload(proxy.ports.sink);
      const downMBs = await download(proxy.ports.source);
      samples.get(proxy.name)!.push({ rps, upMBs, downMBs, cpuRedis: cpu1 - cpu0, cpuBulk: treeCpu(proxy.pid) - cpu1 });
      console.error(`round ${round + 1} ${proxy.name}: ${TESTS.map((t) => `${t} ${Math.round(rps[t] ?? 0)}`).join(', ')}; up ${upMBs.toFixed(0)} MB/s, down ${downMBs.toFixed(0)} MB/s`);
    }
  }
  report(proxies, samples);
  process.exit(0);
}

function report(proxies: Proxy[], samples: Map<string, Sample[]>): void {
  const medians = new Map(proxies.map((proxy) => {
    const list = samples.get(proxy.name)!;
    const row: Record<string, number> = {};
    for (const test of TESTS) row[test] = median(list.map((s) => s.rps[test] ?? 0));
    row.up = median(list.map((s) => s.upMBs));
    row.down = median(list.map((s) => s.downMBs));
    row['cpu redis'] = median(list.map((s) => s.cpuRedis));
    row['cpu bulk'] = median(list.map((s) => s.cpuBulk));
    return [proxy.name, row];
  }));
  const columns = [...TESTS, 'up', 'down', 'cpu redis', 'cpu bulk'];
  console.log(`\nTCP proxies, medians of ${ROUNDS} rounds: redis-benchmark -n ${REQUESTS} -P 1 -c 50 (requests/s), bulk ${(BYTES / 1024 ** 2).toFixed(0)} MiB up and down (MB/s)`);
  console.log(['proxy', ...columns].map((c) => c.padStart(12)).join(''));
  for (const [name, row] of medians) console.log([name, ...columns.map((c) => row[c]!.toFixed(0))].map((c) => c.padStart(12)).join(''));
  const ours = medians.get('switchyard')!;
  // throughput ratios: ours / theirs (higher is better); CPU ratios: theirs / ours, so that higher is better too
  for (const base of ['bare', 'haproxy', 'nginx']) {
    const other = medians.get(base);
    if (!other) continue;
    console.log([`vs ${base}`, ...columns.map((c) => (c.startsWith('cpu') ? other[c]! / ours[c]! : ours[c]! / other[c]!).toFixed(3))].map((c) => c.padStart(12)).join(''));
  }
  console.log('cpu columns: the proxy\'s CPU clock ticks (user + system, its worker processes included) for the redis phase and the bulk phase; their ratios are theirs/ours, so above 1 means we used less.');
}

async function redisBenchmark(port: number): Promise<Record<string, number>> {
  const out = await run('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'ping,set,get', '-n', String(REQUESTS), '-P', '1', '-c', '50', '--csv']);
  const rps: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const match = /^"([A-Z_]+)","([\d.]+)"/.exec(line);
    if (match) rps[match[1]!] = Number(match[2]);
  }
  return rps;
}

function upload(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(256 * 1024, 'y');
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let answer = '';
    const started = process.hrtime.bigint();
    socket.once('connect', () => sendBytes(socket, BYTES, chunk));
    socket.on('data', (data: Buffer) => (answer += data.toString()));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      if (Number(answer) !== BYTES) return reject(new Error(`sink got ${answer} bytes, expected ${BYTES}`));
      resolve(BYTES / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9));
    });
  });
}

function download(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let received = 0;
    const started = process.hrtime.bigint();
    socket.on('data', (data: Buffer) => (received += data.length));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      if (received !== BYTES) return reject(new Error(`got ${received} bytes, expected ${BYTES}`));
      resolve(BYTES / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9));
    });
  });
}

async function nodeForwarder(kind: string, t: Ports): Promise<{ ports: Ports; pid: number }> {
  const child = spawnChild(process.execPath, [path.join(__dirname, 'forwarders.js'), kind, `redis=${t.redis}`, `sink=${t.sink}`, `source=${t.source}`]);
  return { ports: JSON.parse(await firstLine(child)) as Ports, pid: child.pid! };
}

/** CPU ticks of a process and its children (NGINX's worker runs under its master). */
function treeCpu(pid: number): number {
  let total = processCpuTicks(pid) ?? 0;
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const child of children) total += processCpuTicks(Number(child)) ?? 0;
  } catch {
    // no /proc: CPU columns read 0
  }
  return total;
}

async function haproxy(dir: string, t: Ports): Promise<{ ports: Ports; pid: number }> {
  const ports: Ports = { redis: await freePort(), sink: await freePort(), source: await freePort() };
  const listen = (name: keyof Ports) => `listen ${name}\n  bind 127.0.0.1:${ports[name]}\n  server s1 127.0.0.1:${t[name]}\n`;
  const config = `global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n${listen('redis')}${listen('sink')}${listen('source')}`;
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child = spawnChild('haproxy', ['-f', file, '-db']);
  await Promise.all(Object.values(ports).map((port) => waitForPort(port)));
  return { ports, pid: child.pid! };
}

async function nginx(dir: string, t: Ports): Promise<{ ports: Ports; pid: number }> {
  const ports: Ports = { redis: await freePort(), sink: await freePort(), source: await freePort() };
  const server = (name: keyof Ports) => `  server { listen 127.0.0.1:${ports[name]}; proxy_pass 127.0.0.1:${t[name]}; proxy_half_close on; }\n`;
  const config = `load_module ${NGINX_STREAM};\nworker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log;\nevents { worker_connections 4000; }\nstream {\n${server('redis')}${server('sink')}${server('source')}}\n`;
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, config);
  const child = spawnChild('nginx', ['-p', dir, '-c', file, '-e', path.join(dir, 'nginx-error.log')]);
  await Promise.all(Object.values(ports).map((port) => waitForPort(port)));
  return { ports, pid: child.pid! };
}

function spawnChild(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
  });
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(command, args, { maxBuffer: 1 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}

async function hasCommand(command: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${command}`]).then(() => true, () => false);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
