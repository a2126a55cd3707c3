import { expect } from 'chai';
import { ConfigError, createBalancer } from '../../middleware/index.js';
import { normalizeOptions } from '../../middleware/options.js';

const server = { id: 'a', url: 'http://127.0.0.1:4001' };

/** Expect a ConfigError whose path is exactly `path` and whose message mentions `words`. */
function rejects(options: unknown, path: string, words: RegExp): void {
  let caught: unknown;
  try {
    normalizeOptions(options);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a ConfigError at ${path}`).to.be.instanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.path).to.equal(path);
  expect(error.code).to.equal('CONFIG_INVALID');
  expect(error.message).to.match(words);
}

describe('options', () => {
  describe('rejects with the path and what was expected', () => {
    it('a route to an unknown pool', () =>
      rejects({ pools: { api: { servers: [server] } }, routes: [{ path: '/x', pool: 'web' }] }, 'routes[0].pool', /unknown pool "web".*"api"/));
    it('duplicate server ids in a pool', () =>
      rejects({ pools: { api: { servers: [server, { ...server, url: 'http://127.0.0.1:4002' }] } } }, 'pools.api.servers[1].id', /duplicate server id "a"/));
    it('a URL that is not http(s)', () =>
      rejects({ pools: { api: { servers: [{ id: 'a', url: 'ftp://host/' }] } } }, 'pools.api.servers[0].url', /http: or https:/));
    it('a URL that does not parse', () =>
      rejects({ pools: { api: { servers: [{ id: 'a', url: 'not a url' }] } } }, 'pools.api.servers[0].url', /http\(s\) URL/));
    it('a negative weight', () =>
      rejects({ pools: { api: { servers: [{ ...server, weight: -1 }] } } }, 'pools.api.servers[0].weight', /number from 0/));
    it('a weight that is not a number', () =>
      rejects({ pools: { api: { servers: [{ ...server, weight: '3' }] } } }, 'pools.api.servers[0].weight', /got "3"/));
    it('an unknown algorithm', () =>
      rejects({ pools: { api: { servers: [server], algorithm: 'random' } } }, 'pools.api.algorithm', /"least-connections"/));
    it('an unknown option key, suggesting the right one', () =>
      rejects({ pools: { api: { servers: [server], healthcheck: { type: 'tcp' } } } }, 'pools.api.healthcheck', /Did you mean "healthCheck"/));
    it('an unknown top-level key', () => rejects({ pools: { api: { servers: [server] } }, rootes: [] }, 'rootes', /Did you mean "routes"/));
    it('a pool with no servers', () => rejects({ pools: { api: { servers: [] } } }, 'pools.api.servers', /non-empty array/));
    it('no pools at all', () => rejects({ pools: {} }, 'pools', /at least one pool/));
    it('a health check timeout not below its interval', () =>
      rejects({ pools: { api: { servers: [server], healthCheck: { type: 'http', intervalMs: 1000, timeoutMs: 1000 } } } }, 'pools.api.healthCheck.timeoutMs', /below intervalMs/));
    it('a sticky pool without a secret', () => rejects({ pools: { api: { servers: [server], sticky: true } } }, 'sticky.secret', /secret/));
    it('several pools and no routes', () =>
      rejects({ pools: { api: { servers: [server] }, web: { servers: [server] } } }, 'routes', /routes to choose/));
    it('a route path without a leading slash', () =>
      rejects({ pools: { api: { servers: [server] } }, routes: [{ path: 'api', pool: 'api' }] }, 'routes[0].path', /starting with "\/"/));
  });

  it('fills every default and freezes the result', () => {
    const config = normalizeOptions({ pools: { api: { servers: [server] } } });
    const pool = config.pools[0]!;
    expect(pool.algorithm).to.equal('round-robin');
    expect(pool.initialServers[0]).to.deep.equal({ id: 'a', url: 'http://127.0.0.1:4001', weight: 1, backup: false, labels: {} });
    expect(pool.timeouts).to.deep.equal({ connectMs: 5000, responseMs: 60000, clientMs: 60000 });
    expect(pool.retry).to.include({ tries: 2, connectFailure: true, reset: true, timeout: false, budgetPercent: 20 });
    expect(pool.healthCheck).to.equal(null);
    expect(config.routes).to.have.length(1); // one pool: every request goes to it
    expect(Object.isFrozen(config) && Object.isFrozen(pool) && Object.isFrozen(pool.initialServers[0])).to.equal(true);
  });

  it('is what createBalancer checks', () => {
    expect(() => createBalancer({ pools: { api: { servers: [{ id: 'a', url: 'gopher://x' }] } } })).to.throw(ConfigError, /pools\.api\.servers\[0\]\.url/);
  });
});
