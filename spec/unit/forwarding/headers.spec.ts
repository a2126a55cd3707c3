import { expect } from 'chai';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { dropHopByHopRequestHeaders, requestProtocol, responseHead, setForwardedHeaders } from '../../../middleware/forwarding/headers.js';
import { clientAddressOf, compileTrust, TRUST_NOTHING } from '../../../middleware/forwarding/trust.js';

function request(headers: IncomingHttpHeaders, remoteAddress = '::ffff:192.0.2.10', encrypted = false): IncomingMessage {
  return { headers, socket: { remoteAddress, encrypted } } as unknown as IncomingMessage;
}

describe('forwarding/headers', () => {
  it('drops hop-by-hop request headers and those named in Connection, keeping transfer-encoding', () => {
    const headers: IncomingHttpHeaders = { connection: 'close, X-Trace', 'x-trace': '1', 'keep-alive': 'timeout=5', te: 'trailers', upgrade: 'h2c', 'proxy-authorization': 'Basic x', 'transfer-encoding': 'chunked', accept: '*/*' };
    dropHopByHopRequestHeaders(headers);
    expect(headers).to.deep.equal({ 'transfer-encoding': 'chunked', accept: '*/*' });
  });

  it('filters hop-by-hop response headers from raw pairs and appends extra ones', () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Private', 'X-Private', 'no', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'];
    expect(responseHead(raw, ['Set-Cookie', 'sy=x'])).to.deep.equal({
      headers: ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Set-Cookie', 'sy=x'],
      contentLength: -1,
      // the server's own Set-Cookie, not ours, may need its Domain and Path rewritten
      originBound: [2, 4],
    });
    expect(responseHead(['Location', 'http://10.0.0.1/x', 'ETag', '"x"']).originBound).to.deep.equal([0]);
    expect(responseHead(['Content-Length', '42', 'ETag', '"x"']).contentLength).to.equal(42);
  });

  it('drops response headers the server named in Connection, and only hop-by-hop ones for a bare keep-alive or close', () => {
    const raw = ['Connection', 'Keep-Alive, X-Debug', 'X-Debug', '1', 'Keep-Alive', 'timeout=5', 'Vary', 'Accept'];
    expect(responseHead(raw).headers).to.deep.equal(['Vary', 'Accept']);
    expect(responseHead(['Connection', 'close', 'X-Debug', '1']).headers).to.deep.equal(['X-Debug', '1']);
    expect(responseHead(['Connection', 'keep-alive', 'Transfer-Encoding', 'chunked', 'ETag', '"x"']).headers).to.deep.equal(['ETag', '"x"']);
  });

  it('replaces forwarded headers from an untrusted client', () => {
    const req = request({ host: 'shop.example', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil' });
    setForwardedHeaders(req, false);
    expect(req.headers).to.include({ 'x-forwarded-for': '192.0.2.10', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.example' });
  });

  it('appends to forwarded headers from a trusted proxy', () => {
    const req = request({ host: 'internal', 'x-forwarded-for': '203.0.113.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' });
    setForwardedHeaders(req, true);
    expect(req.headers).to.include({ 'x-forwarded-for': '203.0.113.1, 192.0.2.10', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' });
  });

  it('takes the client address and protocol from trusted headers only', () => {
    const req = request({ 'x-forwarded-for': '203.0.113.1, 10.0.0.1', 'x-forwarded-proto': 'https' });
    expect(clientAddressOf(req, compileTrust(true), '192.0.2.10')).to.equal('203.0.113.1');
    expect(clientAddressOf(req, TRUST_NOTHING, '192.0.2.10')).to.equal('192.0.2.10');
    // one hop trusted: the proxy at the peer, so the client is the last address it added
    expect(clientAddressOf(req, compileTrust(1), '192.0.2.10')).to.equal('10.0.0.1');
    expect(clientAddressOf(req, compileTrust('192.0.2.0/24, 10.0.0.0/8'), '192.0.2.10')).to.equal('203.0.113.1');
    expect(requestProtocol(req, true)).to.equal('https');
    expect(requestProtocol(req, false)).to.equal('http');
    expect(requestProtocol(request({}, '::1', true), false)).to.equal('https');
  });
});
