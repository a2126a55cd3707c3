import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import { openUpstreamRequest, upstreamOf } from '../../../middleware/forwarding/upstream.js';
import { Server } from '../../../middleware/pool/server.js';
import { listen } from '../../support/backends.js';

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

  it("sends the headers as given, repeated ones each, the server's own Host when the client sent none, and still refuses CR/LF in a value", async () => {
    let seen: string[] = [];
    const backend = await listen((req, res) => {
      seen = req.rawHeaders;
      res.end();
    });
    try {
      const upstream = upstreamOf(server(backend.url), agent, agent, false);
      const keepAlive = new http.Agent({ keepAlive: true });
      const answered = new Promise<void>((resolve, reject) => {
        const proxyReq = openUpstreamRequest({ ...upstream, agent: keepAlive }, 'GET', '/x', { 'x-one': '1', 'set-cookie': ['a=1', 'b=2'] }, false);
        proxyReq.on('response', (res) => res.resume().on('end', resolve)).on('error', reject).end();
      });
      await answered;
      keepAlive.destroy();
      const port = new URL(backend.url).port;
      expect(seen).to.deep.equal(['x-one', '1', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'host', `127.0.0.1:${port}`, 'Connection', 'keep-alive']);
      expect(() => openUpstreamRequest(upstream, 'GET', '/x', { host: 'h', 'x-bad': 'a\r\nInjected: 1' }, false)).to.throw(/Invalid character/);
    } finally {
      await backend.close();
    }
  });
});
