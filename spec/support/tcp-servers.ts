import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';

/** A real TCP server on a loopback port 0, with its open sockets, for TCP pool tests. */
export interface TcpServer {
  url: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** Listen with `onSocket` for each connection; `close()` destroys what is open. */
export async function startTcpServer(onSocket: (socket: net.Socket, server: TcpServer) => void): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const result: TcpServer = { url: '', port: 0, connections: 0, sockets, close: async () => {} };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    result.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket, result);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.port = (server.address() as AddressInfo).port;
  result.url = `tcp://127.0.0.1:${result.port}`;
  result.close = () => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return result;
}

/** Echoes every byte back and ends when the client ends (half-close honoured). */
export function startEcho(name = ''): Promise<TcpServer> {
  return startTcpServer((socket) => {
    if (name) socket.write(`${name}:`);
    socket.pipe(socket);
  });
}

/** A port where nothing listens: connects are refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Connect to a listening net.Server. */
export function connectTo(server: net.Server | number): Promise<net.Socket> {
  const port = typeof server === 'number' ? server : (server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Send `text`, half-close, and read everything until the other side ends. */
export function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks).toString());
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.end(text);
  });
}

/** Deterministic bytes: block `i` of 64 KiB is filled from a counter, so corruption and reordering show. */
export function block(i: number): Buffer {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (let at = 0; at < buffer.length; at += 4) buffer.writeUInt32LE((i * 16384 + at / 4) >>> 0, at);
  return buffer;
}

/** Write `blocks` blocks honouring backpressure; resolves with how many times write() said to wait. */
export async function writeBlocks(socket: net.Socket, blocks: number, onBlock?: (i: number) => void): Promise<{ waits: number; sha256: string }> {
  const hash = createHash('sha256');
  let waits = 0;
  for (let i = 0; i < blocks; i++) {
    const data = block(i);
    hash.update(data);
    onBlock?.(i);
    if (!socket.write(data)) {
      waits++;
      await new Promise<void>((resolve, reject) => {
        socket.once('drain', resolve);
        socket.once('close', () => reject(new Error('closed while writing')));
      });
    }
  }
  return { waits, sha256: hash.digest('hex') };
}

/** Read a socket to its end into a hash; `stallMs` first reads nothing (a slow reader). */
export function readAll(socket: net.Socket, stallMs = 0): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.pause();
    setTimeout(() => {
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      socket.resume();
    }, stallMs);
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('error', reject);
  });
}
