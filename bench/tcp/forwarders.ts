/**
 * Child entry for the TCP bench: one forwarder process, switchyard's listenTcp or the bare
 * `net` + `pipe()` yardstick, given `name=targetPort` routes. Prints `{ name: port }` as JSON once listening.
 *
 *   node dist/bench/tcp/forwarders.js switchyard redis=6379 sink=7001 source=7002
 */
import net, { type AddressInfo } from 'node:net';
import { createBalancer } from '../../middleware/index.js';

const [kind, ...routes] = process.argv.slice(2);
const targets = routes.map((route) => {
  const [name, port] = route.split('=');
  return { name: name!, port: Number(port) };
});

async function main(): Promise<void> {
  const servers: Array<[string, net.Server]> = [];
  if (kind === 'switchyard') {
    const pools = Object.fromEntries(targets.map(({ name, port }) => [name, { protocol: 'tcp' as const, servers: [{ id: `${name}-1`, url: `tcp://127.0.0.1:${port}` }] }]));
    const balancer = createBalancer({ pools });
    for (const { name } of targets) servers.push([name, balancer.listenTcp(0, name, { host: '127.0.0.1' })]);
  } else {
    for (const { name, port } of targets) servers.push([name, net.createServer({ allowHalfOpen: true }, (client) => bare(client, port))]);
    for (const [, server] of servers) server.listen(0, '127.0.0.1');
  }
  await Promise.all(servers.map(([, server]) => new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)))));
  process.stdout.write(`${JSON.stringify(Object.fromEntries(servers.map(([name, server]) => [name, (server.address() as AddressInfo).port])))}\n`);
}

/** The yardstick: connect, pipe both ways, destroy both on any error. */
function bare(client: net.Socket, port: number): void {
  const upstream = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const cut = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', cut);
  upstream.on('error', cut);
  client.pipe(upstream);
  upstream.pipe(client);
}

void main();
