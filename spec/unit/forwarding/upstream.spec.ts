import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import { upstreamOf } from '../../../middleware/forwarding/upstream.js';
import { Server } from '../../../middleware/pool/server.js';

function server(url: string): Server {
  return new Server({ id: 's', url, weight: 1, backup: false, labels: {}, admin: 'active', drain: null, rev: 0 }, { activeCheck: false, listener: () => {} });
}

describe('forwarding/upstream', () => {
  const agent = new http.Agent();

  it('works out the address, protocol and base path once from the server URL', () => {
    const upstream = upstreamOf(server('https://api.internal:8443/v2/'), agent, agent, false);
    expect(upstream).to.include({ protocol: 'https:', hostname: 'api.internal', port: 8443, basePath: '/v2', hostHeader: undefined, request: https.request });
    expect(upstreamOf(server('http://10.0.0.1'), agent, agent, false)).to.include({ port: 80, basePath: '', request: http.request });
  });

  it("sends the server's Host with changeOrigin: the port only when it is not the scheme's default, IPv6 in brackets", () => {
    expect(upstreamOf(server('http://api.internal:8080'), agent, agent, true).hostHeader).to.equal('api.internal:8080');
    expect(upstreamOf(server('https://api.internal'), agent, agent, true).hostHeader).to.equal('api.internal');
    expect(upstreamOf(server('http://[::1]:9000'), agent, agent, true)).to.include({ hostname: '::1', hostHeader: '[::1]:9000' });
  });
});
