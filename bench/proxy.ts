/**
 * Child entry for one proxy row: `node dist/bench/proxy.js <row> <port,port,port>`.
 * Listens on a free loopback port and prints `READY <port>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { READY_PREFIX } from './backend-contract.js';
import { exitWithParent } from './child-lifetime.js';
import { buildProxyServer } from './proxies.js';
import { ROW_NAMES, type ProxyRowName } from './settings.js';

function parseArgs(argv: readonly string[]): { row: ProxyRowName; targets: string[] } {
  const [row, ports] = argv;
  if (!row || row === 'direct' || !(ROW_NAMES as readonly string[]).includes(row) || !ports) {
    throw new Error(`usage: proxy.js <${ROW_NAMES.filter((name) => name !== 'direct').join('|')}> <port,port,port>`);
  }
  return { row: row as ProxyRowName, targets: ports.split(',').map((port) => `http://127.0.0.1:${port}`) };
}

function main(): void {
  exitWithParent();
  const { row, targets } = parseArgs(process.argv.slice(2));
  const server = buildProxyServer(row, targets);
  // wrk keeps its connections busy; a long timeout just avoids surprises between runs
  server.keepAliveTimeout = 60_000;
  server.once('error', (error) => {
    console.error(`proxy ${row} failed:`, error);
    process.exit(1);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    // a health-checked pool takes traffic once its first checks pass: ready means answering
    void answering(port).then(() => process.stdout.write(`${READY_PREFIX}${port}\n`));
  });
}

/** Resolves once a request through the proxy gets a 200 (at most a few seconds). */
async function answering(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const status = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/bench-ready', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
