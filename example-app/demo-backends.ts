import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoBackend {
  id: string;
  url: string;
  close(): Promise<void>;
}

/**
 * A demo server that says who it is, a little slowly (a few milliseconds, as real apps take),
 * with a /health endpoint for the balancer's checks.
 */
export async function startDemoBackend(id: string, role: string): Promise<DemoBackend> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    const body = JSON.stringify({ server: id, role, method: req.method, path: req.url, at: new Date().toISOString() });
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': id });
      res.end(`${body}\n`);
    }, 2 + Math.random() * 8);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
