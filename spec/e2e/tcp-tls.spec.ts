import { expect } from 'chai';
import { once } from 'node:events';
import type { AddressInfo, Server as NetServer } from 'node:net';
import tls from 'node:tls';
import { createBalancer, type Balancer, type PoolOptions } from '../../middleware/index.js';
import { recorder } from '../support/recording-logger.js';
import { exchange } from '../support/tcp-servers.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tls.js';
import { waitFor } from '../support/wait.js';

describe('TCP pools: TLS to the servers (tls://)', () => {
  let certificate: TestCertificate;
  let server: tls.Server;
  let url: string;
  let balancer: Balancer | undefined;

  before(async () => {
    certificate = selfSignedCertificate();
    server = tls.createServer({ key: certificate.key, cert: certificate.cert }, (socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => socket.write(`tls:${chunk.toString()}`));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `tls://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => server.close());

  afterEach(async () => {
    await balancer?.close();
    balancer = undefined;
  });

  async function listen(pool: Omit<PoolOptions, 'protocol' | 'servers'>): Promise<number> {
    balancer = createBalancer({ pools: { p: { protocol: 'tcp', servers: [{ id: 's', url }], ...pool } as PoolOptions }, logger: recorder() });
    const listener: NetServer = balancer.listenTcp(0, 'p', { host: '127.0.0.1' });
    await once(listener, 'listening');
    return (listener.address() as AddressInfo).port;
  }

  it('refuses a certificate it cannot verify, by default: the connect counts as failed', async () => {
    const port = await listen({ retries: 0 });
    expect(await exchange(port, 'hello')).to.equal('');
    expect(balancer!.snapshot().pools.p!.servers[0]!.tcp!.connectErrors.refused).to.equal(1);
  });

  it('trusts a private CA given as tls.ca, in the relay and in the health check', async () => {
    const port = await listen({ tls: { ca: certificate.cert }, healthCheck: { type: 'tcp', intervalMs: 100, timeoutMs: 50 } });
    await waitFor('checked', () => balancer!.snapshot().pools.p!.servers[0]!.checks.length > 0);
    expect(balancer!.snapshot().pools.p!.servers[0]!.health).to.equal('healthy');
    expect(await exchange(port, 'hello')).to.equal('tls:hello');
  });

  it('fails the health check of a server whose certificate does not verify', async () => {
    await listen({ healthCheck: { type: 'tcp', intervalMs: 100, timeoutMs: 50, unhealthyThreshold: 1 } });
    await waitFor('checked', () => balancer!.snapshot().pools.p!.servers[0]!.checks.length > 0);
    const snapshot = balancer!.snapshot().pools.p!.servers[0]!;
    expect(snapshot.health).to.equal('unhealthy');
    expect(snapshot.checks[0]!.reason).to.match(/SELF_SIGNED|certificate/i);
  });
});
