import net, { type AddressInfo } from 'node:net';

export interface RawBackend {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Request heads received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A TCP server that answers each request head with whatever bytes `answer` returns, verbatim:
 * for responses no HTTP library would write (a bad status line, framing that lies).
 */
export async function startRawBackend(answer: (head: string, index: number) => string | Buffer): Promise<RawBackend> {
  const sockets = new Set<net.Socket>();
  const backend: RawBackend = { url: '', connections: 0, requests: [], close: async () => {} };
  const server = net.createServer((socket) => {
    backend.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        backend.requests.push(head);
        if (!socket.destroyed) socket.write(answer(head, backend.requests.length - 1));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  backend.close = () => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return backend;
}
