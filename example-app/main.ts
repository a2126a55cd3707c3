import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExampleApp } from './app.js';
import { startDemoTraffic } from './demo-traffic.js';

/** `npm start`: the example app on PORT (default 3000) until Ctrl-C. */
async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const example = await createExampleApp({ ...(process.env.DASHBOARD_PASSWORD && { password: process.env.DASHBOARD_PASSWORD }) });
  let stopTraffic = () => {};
  const server = http.createServer(example.app);
  example.balancer.attach(server);
  server.on('error', async (error: NodeJS.ErrnoException) => {
    console.error(error.code === 'EADDRINUSE' ? `Port ${port} is taken: try PORT=3001 npm start` : error.message);
    await example.close();
    process.exit(1);
  });
  server.listen(port, () => {
    const base = `http://localhost:${(server.address() as AddressInfo).port}`;
    console.log(`switchyard example app on ${base}`);
    for (const backend of example.backends) console.log(`  demo server ${backend.id.padEnd(9)} ${backend.url}`);
    console.log(`  ${base}/api/…     → pool "api" (api-1, api-2)`);
    console.log(`  ${base}/static/… → pool "static" (static-1, prefix stripped)`);
    console.log(`  ${base}/admin/     → the dashboard: user ${example.credentials.username}, password ${example.credentials.password}`);
    console.log(`Watch the rotation (no cookie, so each request is placed anew):\n  for i in 1 2 3 4; do curl -s ${base}/api/hello; done`);
    console.log('A trickle of demo traffic keeps the dashboard alive. Ctrl-C stops everything.');
    if (process.env.DEMO_TRAFFIC !== 'off') stopTraffic = startDemoTraffic(base);
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1); // a second Ctrl-C does not wait
    stopping = true;
    console.log('\nstopping…');
    // SIGTERM recipe: stop accepting, fail readiness (close() does), let in-flight requests finish, then go
    stopTraffic();
    server.close();
    await example.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
