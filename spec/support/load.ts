import http from 'node:http';

export interface LoadResult {
  status: number;
  /** The `x-backend` header: which server answered. */
  backend: string;
  /** When the request was sent, and when its answer ended (or it failed). */
  sentAt: number;
  at: number;
}

/**
 * Send requests from `concurrency` loops over keep-alive connections until `stop()` says so;
 * every request's outcome is kept, failures included (status 0 for a connection error).
 */
export function startLoad(base: string, { concurrency = 4, path = '/load' }: { concurrency?: number; path?: string } = {}) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const results: LoadResult[] = [];
  let running = true;

  const once = () =>
    new Promise<void>((resolve) => {
      const sentAt = Date.now();
      const req = http.get({ host: url.hostname, port: url.port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          results.push({ status: res.statusCode ?? 0, backend: String(res.headers['x-backend'] ?? ''), sentAt, at: Date.now() });
          resolve();
        });
      });
      req.on('error', () => {
        results.push({ status: 0, backend: '', sentAt, at: Date.now() });
        resolve();
      });
    });

  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await once();
  });

  return {
    results,
    async stop(): Promise<LoadResult[]> {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return results;
    },
  };
}

export { sleep } from './wait.js';

/** A backend handler that answers after `ms`, naming itself in `x-backend`. */
export function slowEcho(ms: number) {
  return (req: http.IncomingMessage, res: http.ServerResponse, backend: { id: string }) => {
    req.resume();
    // `?hold=<ms>` answers later: a test that needs requests in flight at a given moment holds some
    const hold = /[?&]hold=(\d+)/.exec(req.url ?? '')?.[1];
    setTimeout(() => {
      res.writeHead(200, { 'x-backend': backend.id, 'content-type': 'text/plain' });
      res.end(backend.id);
    }, hold === undefined ? ms : Number(hold));
  };
}
