/**
 * Child entry for one proxy row: `node dist/bench/proxy.js <row> <port,port,port>`.
 * Listens on a free loopback port and prints `READY <port>`.
 */
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
    process.stdout.write(`${READY_PREFIX}${(server.address() as AddressInfo).port}\n`);
  });
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
