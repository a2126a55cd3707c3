import { expect } from 'chai';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { silentLogger } from '../../middleware/logger.js';
import { send, startHost, type Host } from '../support/hosts.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tls.js';

describe('https servers', () => {
  let certificate: TestCertificate;
  let server: https.Server;
  let url: string;
  const opened: Array<{ balancer: Balancer; host: Host }> = [];

  before(async () => {
    certificate = selfSignedCertificate();
    server = https.createServer(certificate, (req, res) => res.end(`secure ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const { balancer, host } of opened) {
      await host.close();
      await balancer.close();
    }
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function through(tls?: { ca?: Buffer; rejectUnauthorized?: boolean }): Promise<Host> {
    const balancer = createBalancer({ pools: { secure: { servers: [{ id: 's1', url }], ...(tls ? { tls } : {}) } }, logger: silentLogger });
    const host = await startHost('express', balancer);
    opened.push({ balancer, host });
    return host;
  }

  it('refuses a certificate it cannot verify, by default (502)', async () => {
    const res = await send((await through()).url, '/x');
    expect(res.status).to.equal(502);
  });

  it('trusts a private CA given as tls.ca', async () => {
    const res = await send((await through({ ca: certificate.cert })).url, '/x');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('secure /x');
  });
});
