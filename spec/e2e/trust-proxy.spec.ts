import { expect } from 'chai';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { startBackends, type Backend } from '../support/backends.js';
import { send, startHost, type Host } from '../support/hosts.js';

describe('trustProxy', () => {
  let backends: Backend[];
  let balancer: Balancer;
  let host: Host;

  before(async () => {
    backends = await startBackends(3, 'b');
    balancer = createBalancer({ trustProxy: true, pools: { api: { algorithm: 'ip-hash', servers: backends.map((b) => ({ id: b.id, url: b.url })) } } });
    host = await startHost('wrap', balancer);
  });

  after(async () => {
    await host.close();
    await balancer.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('keeps and appends to the X-Forwarded-* a trusted proxy sent', async () => {
    const res = await send(host.url, '/x', { headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example.com' } });
    const { headers } = res.json<{ headers: Record<string, string> }>();
    expect(headers['x-forwarded-for']).to.equal('203.0.113.9, 127.0.0.1');
    expect(headers['x-forwarded-proto']).to.equal('https');
    expect(headers['x-forwarded-host']).to.equal('shop.example.com');
  });

  it('hashes the forwarded client address, not the proxy\'s', async () => {
    const servedBy = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await send(host.url, '/x', { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
      servedBy.add(res.json().backend as string);
    }
    expect(servedBy.size).to.equal(3); // behind one proxy address, clients still spread
    const again = await Promise.all([1, 2, 3].map(() => send(host.url, '/x', { headers: { 'x-forwarded-for': '198.51.100.77' } })));
    expect(new Set(again.map((res) => res.json().backend)).size).to.equal(1);
  });
});
