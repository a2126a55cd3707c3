import type { IncomingMessage } from 'node:http';

/** Methods a client may repeat: a request with one of these can go to another server. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

/** Idempotent request bodies up to this size are read before forwarding, so that a retry can resend them (nginx buffers too). */
export const REPLAY_LIMIT = 1024 * 1024;

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Read a whole (small) request body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away mid-body'));
    });
  });
}
