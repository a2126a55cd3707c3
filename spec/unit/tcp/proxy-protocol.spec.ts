import { expect } from 'chai';
import { ipv6Words, proxyHeader, V2_SIGNATURE } from '../../../middleware/tcp/proxy-protocol.js';

describe('PROXY protocol header', () => {
  const v4 = { sourceAddress: '203.0.113.7', sourcePort: 51000, destinationAddress: '10.0.0.1', destinationPort: 6379 };

  it('v1: TCP4 line with addresses and ports', () => {
    expect(proxyHeader('v1', v4).toString('latin1')).to.equal('PROXY TCP4 203.0.113.7 10.0.0.1 51000 6379\r\n');
  });

  it('v1: IPv4-mapped IPv6 addresses go as TCP4', () => {
    const header = proxyHeader('v1', { ...v4, sourceAddress: '::ffff:127.0.0.1', destinationAddress: '::ffff:127.0.0.2' });
    expect(header.toString('latin1')).to.equal('PROXY TCP4 127.0.0.1 127.0.0.2 51000 6379\r\n');
  });

  it('v1: TCP6, and UNKNOWN for a missing or mixed family', () => {
    expect(proxyHeader('v1', { ...v4, sourceAddress: '2001:db8::1', destinationAddress: '::1' }).toString()).to.equal('PROXY TCP6 2001:db8::1 ::1 51000 6379\r\n');
    expect(proxyHeader('v1', { ...v4, sourceAddress: '2001:db8::1' }).toString()).to.equal('PROXY UNKNOWN\r\n');
    expect(proxyHeader('v1', { ...v4, sourceAddress: undefined }).toString()).to.equal('PROXY UNKNOWN\r\n');
  });

  it('v2: signature, PROXY command, TCP over IPv4, 12 address bytes', () => {
    const header = proxyHeader('v2', v4);
    expect(header.subarray(0, 12).equals(V2_SIGNATURE)).to.equal(true);
    expect([...header.subarray(12, 16)]).to.deep.equal([0x21, 0x11, 0x00, 12]);
    expect([...header.subarray(16, 20)]).to.deep.equal([203, 0, 113, 7]);
    expect([...header.subarray(20, 24)]).to.deep.equal([10, 0, 0, 1]);
    expect(header.readUInt16BE(24)).to.equal(51000);
    expect(header.readUInt16BE(26)).to.equal(6379);
    expect(header.length).to.equal(28);
  });

  it('v2: TCP over IPv6, 36 address bytes', () => {
    const header = proxyHeader('v2', { ...v4, sourceAddress: '2001:db8::7', destinationAddress: '::1' });
    expect([...header.subarray(12, 16)]).to.deep.equal([0x21, 0x21, 0x00, 36]);
    expect(header.subarray(16, 32).toString('hex')).to.equal('20010db8000000000000000000000007');
    expect(header.subarray(32, 48).toString('hex')).to.equal('00000000000000000000000000000001');
    expect(header.readUInt16BE(48)).to.equal(51000);
    expect(header.length).to.equal(52);
  });

  it('v2: LOCAL with no addresses when the family is unknown', () => {
    const header = proxyHeader('v2', { ...v4, destinationAddress: undefined });
    expect([...header.subarray(12)]).to.deep.equal([0x20, 0x00, 0x00, 0x00]);
  });

  it('expands IPv6 words, embedded IPv4 included', () => {
    expect(ipv6Words('::')).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Words('fe80::1%eth0')).to.deep.equal([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Words('64:ff9b::192.0.2.33')).to.deep.equal([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]);
  });
});
