import net from 'node:net';

/** The addresses a PROXY header carries: the client (source) and the address it connected to (destination). */
export interface ProxyAddresses {
  sourceAddress: string | undefined;
  sourcePort: number | undefined;
  destinationAddress: string | undefined;
  destinationPort: number | undefined;
}

/** The v2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2) that tells a server who the
 * client is: written before any of the client's bytes. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`) go as IPv4; a pair of different or unknown families as UNKNOWN (v1) or
 * LOCAL (v2), which the spec says servers must accept and treat as a direct connection.
 *
 * @example
 * socket.write(proxyHeader('v1', { sourceAddress: '203.0.113.7', sourcePort: 51000, destinationAddress: '10.0.0.1', destinationPort: 6379 }));
 * // "PROXY TCP4 203.0.113.7 10.0.0.1 51000 6379\r\n"
 */
export function proxyHeader(version: 'v1' | 'v2', addresses: ProxyAddresses): Buffer {
  const pair = addressPair(addresses);
  return version === 'v1' ? v1(pair) : v2(pair);
}

interface Pair {
  family: 4 | 6;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
}

function addressPair(a: ProxyAddresses): Pair | undefined {
  const source = unmapped(a.sourceAddress);
  const destination = unmapped(a.destinationAddress);
  if (source === undefined || destination === undefined || a.sourcePort === undefined || a.destinationPort === undefined) return undefined;
  const family = net.isIP(source);
  if (family === 0 || family !== net.isIP(destination)) return undefined;
  return { family: family as 4 | 6, source, destination, sourcePort: a.sourcePort, destinationPort: a.destinationPort };
}

function unmapped(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

function v1(pair: Pair | undefined): Buffer {
  if (!pair) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.from(`PROXY TCP${pair.family} ${pair.source} ${pair.destination} ${pair.sourcePort} ${pair.destinationPort}\r\n`, 'latin1');
}

function v2(pair: Pair | undefined): Buffer {
  if (!pair) {
    // version 2, command LOCAL; family UNSPEC, no addresses
    return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  }
  const size = pair.family === 4 ? 4 : 16;
  const body = Buffer.alloc(size * 2 + 4);
  writeAddress(pair.source, pair.family, body, 0);
  writeAddress(pair.destination, pair.family, body, size);
  body.writeUInt16BE(pair.sourcePort, size * 2);
  body.writeUInt16BE(pair.destinationPort, size * 2 + 2);
  // version 2, command PROXY; TCP over IPv4 (0x11) or IPv6 (0x21); then the length of what follows
  const head = Buffer.from([0x21, pair.family === 4 ? 0x11 : 0x21, 0x00, body.length]);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}

function writeAddress(address: string, family: 4 | 6, into: Buffer, at: number): void {
  if (family === 4) {
    address.split('.').forEach((part, i) => into.writeUInt8(Number(part), at + i));
    return;
  }
  ipv6Words(address).forEach((word, i) => into.writeUInt16BE(word, at + i * 2));
}

/** Eight 16-bit words of an IPv6 address, `::` expanded and a trailing dotted IPv4 part folded in. */
export function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((word) => parseInt(word, 16));
}
