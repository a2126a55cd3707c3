/**
 * Child entry: three fast keep-alive backends on loopback, one process (pinned to the load
 * generator's core by the orchestrator). Prints `READY <port>,<port>,<port>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BACKEND_BODY, BACKEND_ID_HEADER, READY_PREFIX } from './backend-contract.js';
import { exitWithParent } from './child-lifetime.js';

const BACKEND_COUNT = 3;
const BODY_LENGTH = String(Buffer.byteLength(BACKEND_BODY));

function startBackend(id: string): Promise<number> {
  const server = http.createServer((req, res) => {
    // drain any request body so the connection stays reusable
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY_LENGTH, [BACKEND_ID_HEADER]: id });
    res.end(BACKEND_BODY);
  });
  // proxies keep pooled sockets between warm-up and measurement: do not close them under load
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  exitWithParent();
  const ports: number[] = [];
  for (let i = 1; i <= BACKEND_COUNT; i++) ports.push(await startBackend(`b${i}`));
  process.stdout.write(`${READY_PREFIX}${ports.join(',')}\n`);
}

main().catch((error: unknown) => {
  console.error('backend failed to start:', error);
  process.exit(1);
});
