import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  id: string;
  url: string;
  port: number;
  server: http.Server;
  /** Requests this backend has received. */
  hits: number;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, backend: Backend) => void;

/** Answers `{"backend": id, "method", "url", "headers"}` as JSON: enough for routing tests to see what arrived. */
export const echo: Handler = (req, res, backend) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.stringify({ backend: backend.id, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': backend.id });
    res.end(body);
  });
};

/** A real HTTP server on an ephemeral loopback port. */
export async function startBackend(id: string, handler: Handler = echo): Promise<Backend> {
  const backend = { id, hits: 0 } as Backend;
  backend.server = http.createServer((req, res) => {
    backend.hits++;
    handler(req, res, backend);
  });
  await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
  backend.port = (backend.server.address() as AddressInfo).port;
  backend.url = `http://127.0.0.1:${backend.port}`;
  backend.close = () => closeServer(backend.server);
  return backend;
}

export async function startBackends(count: number, prefix = 'b', handler: Handler = echo): Promise<Backend[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startBackend(`${prefix}${i + 1}`, handler)));
}

/** A port that refuses connections: bound once, then closed. */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Serve a handler (an app, a balancer.wrap()) on an ephemeral port. */
export async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => closeServer(server),
  };
}

/** Close a server now: keep-alive connections included, so that `after` hooks never wait. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
