import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { normalizeOptions, type RouteOptions } from '../../../middleware/options.js';
import { compileRoutes } from '../../../middleware/routing/routes.js';

function matcher(routes: RouteOptions[], caseSensitive = false) {
  const pools = Object.fromEntries(['api', 'web', 'canary', 'beta'].map((name) => [name, { servers: [{ id: 'a', url: 'http://127.0.0.1:1' }] }]));
  const config = normalizeOptions({ pools, routes, caseSensitive });
  return compileRoutes(config.routes, { caseSensitive: config.caseSensitive });
}

function request(url: string, headers: Record<string, string> = {}, method = 'GET'): IncomingMessage {
  return { url, method, headers } as unknown as IncomingMessage;
}

describe('routing/routes', () => {
  it('matches path prefixes by segment, first match wins', () => {
    const match = matcher([{ path: '/api/v2', pool: 'canary' }, { path: '/api', pool: 'api' }, { path: '/', pool: 'web' }]);
    expect(match(request('/api/v2/users'))?.pool).to.equal('canary');
    expect(match(request('/api/v1'))?.pool).to.equal('api');
    expect(match(request('/api'))?.pool).to.equal('api');
    expect(match(request('/apix'))?.pool).to.equal('web');
  });

  it('returns undefined when nothing matches', () => {
    const match = matcher([{ path: '/api', pool: 'api' }]);
    expect(match(request('/other'))).to.equal(undefined);
    expect(match(request('/apix'))).to.equal(undefined);
  });

  it('matches the normalised path, and forwards it', () => {
    const match = matcher([{ path: '/admin', pool: 'beta' }, { path: '/api', pool: 'api' }]);
    for (const url of ['/api/../admin', '/api/%2e%2e/admin', '//admin']) {
      const result = match(request(url));
      expect(result?.pool, url).to.equal('beta');
      expect(result?.upstreamUrl, url).to.equal('/admin');
    }
  });

  it('keeps the query string untouched', () => {
    const match = matcher([{ path: '/api', pool: 'api' }]);
    expect(match(request('/api//x?a=%2e%2e&b=/../'))?.upstreamUrl).to.equal('/api/x?a=%2e%2e&b=/../');
  });

  it('matches host exactly (port ignored, case folded) and by wildcard or RegExp', () => {
    const match = matcher([
      { host: 'static.example.com', pool: 'web' },
      { host: '*.canary.example.com', pool: 'canary' },
      { host: /^beta\d+\.example\.com$/, pool: 'beta' },
    ]);
    expect(match(request('/', { host: 'Static.Example.com:8080' }))?.pool).to.equal('web');
    expect(match(request('/', { host: 'a.canary.example.com' }))?.pool).to.equal('canary');
    expect(match(request('/', { host: 'canary.example.com' }))).to.equal(undefined);
    expect(match(request('/', { host: 'beta7.example.com' }))?.pool).to.equal('beta');
    expect(match(request('/', { host: 'other.example.com' }))).to.equal(undefined);
  });

  it('matches headers, cookies and methods, combined in one route', () => {
    const match = matcher([
      { path: '/', header: { 'X-Canary': 'yes' }, method: ['GET', 'head'], pool: 'canary' },
      { cookie: { beta: '1' }, pool: 'beta' },
      { header: { 'user-agent': /bot/i }, pool: 'web' },
    ]);
    expect(match(request('/x', { 'x-canary': 'yes' }))?.pool).to.equal('canary');
    expect(match(request('/x', { 'x-canary': 'yes' }, 'HEAD'))?.pool).to.equal('canary');
    expect(match(request('/x', { 'x-canary': 'yes' }, 'POST'))).to.equal(undefined);
    expect(match(request('/x', { cookie: 'a=2; beta=1' }))?.pool).to.equal('beta');
    expect(match(request('/x', { cookie: 'beta=2' }))).to.equal(undefined);
    expect(match(request('/x', { 'user-agent': 'GoodBot/1.0' }))?.pool).to.equal('web');
  });

  it('strips a prefix from the path sent upstream', () => {
    const match = matcher([{ path: '/static', stripPrefix: '/static', pool: 'web' }]);
    expect(match(request('/static/app.js?v=1'))?.upstreamUrl).to.equal('/app.js?v=1');
    expect(match(request('/static'))?.upstreamUrl).to.equal('/');
  });

  it('is case-insensitive by default, as Express is, and case-sensitive on request', () => {
    expect(matcher([{ path: '/api', pool: 'api' }])(request('/API/Users'))?.upstreamUrl).to.equal('/API/Users');
    expect(matcher([{ path: '/api', pool: 'api' }], true)(request('/API/Users'))).to.equal(undefined);
  });
});
