/**
 * Before any figure is taken, prove a row really proxies: requests through it must come back
 * 200 with the backends' body, and (for proxies) from each of the three backends in turn.
 */
import http from 'node:http';
import { BACKEND_BODY, BACKEND_ID_HEADER } from './backend-contract.js';

interface Reply {
  status: number;
  body: string;
  backend: string | undefined;
}

export class NotProxyingError extends Error {}

/**
 * Throws NotProxyingError describing what came back instead. `rotates`: one request at a time
 * must visit every backend (round robin); rows that pick by load or by key need not.
 */
export async function verifyProxies(label: string, port: number, expectedBackends: number, rotates = true): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < expectedBackends; i++) {
    let reply: Reply;
    try {
      reply = await get(port, `/bench-check/${i}`);
    } catch (error) {
      throw new NotProxyingError(`${label}: request ${i + 1} through port ${port} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (reply.status !== 200 || reply.body !== BACKEND_BODY || reply.backend === undefined) {
      throw new NotProxyingError(
        `${label} does not proxy: request ${i + 1} got status ${reply.status}, ${BACKEND_ID_HEADER}: ${reply.backend ?? '(none)'}, ` +
          `body ${JSON.stringify(reply.body.slice(0, 300))} (expected the backends' ${BACKEND_BODY.length}-byte body)`,
      );
    }
    seen.add(reply.backend);
  }
  if (rotates && seen.size !== expectedBackends) {
    throw new NotProxyingError(`${label}: ${expectedBackends} requests reached only backends [${[...seen].join(', ')}], not round robin over ${expectedBackends}`);
  }
}

function get(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const backend = res.headers[BACKEND_ID_HEADER];
        resolve({ status: res.statusCode ?? 0, body, backend: Array.isArray(backend) ? backend.join(',') : backend });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
  });
}
