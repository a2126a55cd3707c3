import { expect } from 'chai';
import { createBalancer, ConfigError, type BalancerOptions } from '../../../middleware/index.js';

function configError(options: unknown): ConfigError {
  try {
    createBalancer(options as BalancerOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const tcpPool = (extra: Record<string, unknown> = {}) => ({ protocol: 'tcp', servers: [{ id: 'r1', url: 'tcp://127.0.0.1:6379' }], ...extra });

describe('TCP pool options', () => {
  it('accepts a TCP pool with defaults: least-connections, 5 s connect, 10 min idle, unbounded connections', async () => {
    const balancer = createBalancer({ pools: { cache: tcpPool() as never } });
    const pool = balancer.poolInternal('cache');
    expect(pool.config.protocol).to.equal('tcp');
    expect(pool.algorithm.name).to.equal('least-connections');
    expect(pool.config.tcp).to.deep.equal({ connectMs: 5000, idleMs: 600_000, proxyProtocol: null, tries: 2 });
    expect(pool.config.maxConnections).to.equal(Number.MAX_SAFE_INTEGER);
    expect(balancer.config.routes).to.deep.equal([]);
    expect(balancer.snapshot().pools.cache!.protocol).to.equal('tcp');
    await balancer.close();
  });

  it('takes tls:// servers, timeouts, proxyProtocol, maxConnections and send/expect checks', async () => {
    const balancer = createBalancer({
      pools: {
        cache: tcpPool({
          servers: [{ id: 'r1', url: 'tls://cache.internal:6380' }], timeouts: { connectMs: 100, idleMs: 2000 }, proxyProtocol: 'v2', maxConnections: 10,
          algorithm: 'ip-hash', healthCheck: { type: 'tcp', send: 'PING\r\n', expect: '+PONG', intervalMs: 60_000 },
        }) as never,
      },
    });
    const { config } = balancer.poolInternal('cache');
    expect(config.tcp).to.deep.equal({ connectMs: 100, idleMs: 2000, proxyProtocol: 'v2', tries: 2 });
    expect(config.maxConnections).to.equal(10);
    expect(config.healthCheck!.send!.toString()).to.equal('PING\r\n');
    expect(config.healthCheck!.expect).to.equal('+PONG');
    await balancer.close();
  });

  const cases: Array<[string, unknown, string]> = [
    ['an http:// server in a TCP pool', { pools: { c: tcpPool({ servers: [{ id: 'a', url: 'http://127.0.0.1:1' }] }) } }, 'pools.c.servers[0].url'],
    ['a tcp:// server in an HTTP pool', { pools: { c: { servers: [{ id: 'a', url: 'tcp://127.0.0.1:1' }] } } }, 'pools.c.servers[0].url'],
    ['a TCP server without a port', { pools: { c: tcpPool({ servers: [{ id: 'a', url: 'tcp://127.0.0.1' }] }) } }, 'pools.c.servers[0].url'],
    ['a TCP pool in a route', { pools: { c: tcpPool(), web: { servers: [{ id: 'w', url: 'http://127.0.0.1:1' }] } }, routes: [{ path: '/', pool: 'c' }] }, 'routes[0].pool'],
    ['sticky on a TCP pool', { pools: { c: tcpPool({ sticky: true }) } }, 'pools.c.sticky'],
    ['a queue on a TCP pool', { pools: { c: tcpPool({ queue: { size: 1 } }) } }, 'pools.c.queue'],
    ['changeOrigin on a TCP pool', { pools: { c: tcpPool({ changeOrigin: true }) } }, 'pools.c.changeOrigin'],
    ['a retry policy on a TCP pool', { pools: { c: tcpPool({ retry: { tries: 1 } }) } }, 'pools.c.retry'],
    ['responseMs on a TCP pool', { pools: { c: tcpPool({ timeouts: { responseMs: 1000 } }) } }, 'pools.c.timeouts.responseMs'],
    ['idleMs on an HTTP pool', { pools: { c: { servers: [{ id: 'a', url: 'http://127.0.0.1:1' }], timeouts: { idleMs: 1000 } } } }, 'pools.c.timeouts.idleMs'],
    ['a zero idle timeout', { pools: { c: tcpPool({ timeouts: { idleMs: 0 } }) } }, 'pools.c.timeouts.idleMs'],
    ['a header hash key on a TCP pool', { pools: { c: tcpPool({ hash: { key: 'header:x-user' } }) } }, 'pools.c.hash.key'],
    ['proxyProtocol on an HTTP pool', { pools: { c: { servers: [{ id: 'a', url: 'http://127.0.0.1:1' }], proxyProtocol: 'v1' } } }, 'pools.c.proxyProtocol'],
    ['proxyProtocol v3', { pools: { c: tcpPool({ proxyProtocol: 'v3' }) } }, 'pools.c.proxyProtocol'],
    ['an unknown protocol', { pools: { c: tcpPool({ protocol: 'udp' }) } }, 'pools.c.protocol'],
    ['an HTTP check on a TCP pool', { pools: { c: tcpPool({ healthCheck: { type: 'http', path: '/' } }) } }, 'pools.c.healthCheck.type'],
    ['an empty send', { pools: { c: tcpPool({ healthCheck: { type: 'tcp', send: '' } }) } }, 'pools.c.healthCheck.send'],
    ['expect as a number', { pools: { c: tcpPool({ healthCheck: { type: 'tcp', expect: 1 } }) } }, 'pools.c.healthCheck.expect'],
    ['a global RegExp for expect', { pools: { c: tcpPool({ healthCheck: { type: 'tcp', expect: /PONG/g } }) } }, 'pools.c.healthCheck.expect'],
    ['maxConnections 0', { pools: { c: tcpPool({ maxConnections: 0 }) } }, 'pools.c.maxConnections'],
  ];
  for (const [name, options, path] of cases) {
    it(`refuses ${name} at ${path}`, () => {
      expect(configError(options).path).to.equal(path);
    });
  }

  it('refuses balancer.tcp() for an HTTP pool, and an unknown pool', async () => {
    const balancer = createBalancer({ pools: { web: { servers: [{ id: 'w', url: 'http://127.0.0.1:1' }] }, c: tcpPool() as never }, routes: [{ path: '/', pool: 'web' }] });
    expect(() => balancer.tcp('web')).to.throw(ConfigError, /HTTP pool/);
    expect(() => balancer.tcp('nope')).to.throw(/no pool "nope"/);
    expect(balancer.tcp('c')).to.be.a('function');
    await balancer.close();
  });

  it('checks run-time servers of a TCP pool as tcp:// too', async () => {
    const balancer = createBalancer({ pools: { c: tcpPool() as never } });
    await balancer.pool('c').addServer({ id: 'r2', url: 'tcp://127.0.0.1:6380' });
    let caught: unknown;
    await balancer.pool('c').addServer({ id: 'r3', url: 'http://127.0.0.1:6381' }).catch((error: unknown) => (caught = error));
    expect(String(caught)).to.match(/tcp: or tls: URL/);
    await balancer.close();
  });
});
