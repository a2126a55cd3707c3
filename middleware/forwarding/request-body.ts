import type { IncomingMessage } from 'node:http';

/** Methods a client may repeat: a request with one of these can go to another server. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

/** Idempotent request bodies up to this size are read before forwarding, so that a retry can resend them (nginx buffers too). */
export const REPLAY_LIMIT = 1024 * 1024;

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Should the body be read into memory first, so that a refused connection can be retried elsewhere? */
export function shouldBufferForRetry(req: IncomingMessage): boolean {
  if (!isIdempotent(req.method ?? 'GET') || !hasBody(req) || req.readableEnded) return false;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length <= REPLAY_LIMIT;
}

/** Read a whole (small) request body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * When a body parser (express.json(), express.urlencoded(), express.text(), express.raw())
 * has already read the stream, rebuild the bytes from what it parsed so that the server
 * still gets the whole body. Returns undefined when the stream is still unread.
 */
export function parsedBodyBytes(req: IncomingMessage & { body?: unknown }): Buffer | undefined {
  if (!req.readableEnded || req.body === undefined) return undefined;
  const body = req.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) return Buffer.from(formEncode(body));
  if (type.includes('json')) return Buffer.from(JSON.stringify(body));
  return Buffer.alloc(0);
}

/** URL-encode a parsed form, nested objects and arrays in the `a[b]=c` form that `qs` parses back. */
function formEncode(value: unknown, prefix = ''): string {
  if (value === null || value === undefined) return prefix ? `${encodeURIComponent(prefix)}=` : '';
  if (typeof value !== 'object') return `${encodeURIComponent(prefix)}=${encodeURIComponent(String(value))}`;
  const parts = Object.entries(value as Record<string, unknown>).map(([key, inner]) =>
    formEncode(inner, prefix ? `${prefix}[${Array.isArray(value) ? '' : key}]` : key),
  );
  return parts.filter(Boolean).join('&');
}
