import type { IncomingMessage } from 'node:http';

/**
 * How a request's body will reach the server:
 * - `none`: there is none;
 * - `stream`: the client's stream, unread, piped once the server is connected;
 * - `bytes`: the exact bytes, known before forwarding (kept by a body parser, or re-serialised
 *   from what it parsed where that round-trips); they are decoded, so Content-Encoding goes;
 * - `consumed`: something read the stream and left nothing exact to send: the request fails closed.
 */
export type BodyPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'stream' }
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'consumed'; readonly reason: string };

/** What a framework's body parser left: Koa's `ctx.request.body` and `rawBody`. */
export interface ParsedBody {
  body?: unknown;
  rawBody?: unknown;
}

const NONE: BodyPlan = Object.freeze({ kind: 'none' });
const STREAM: BodyPlan = Object.freeze({ kind: 'stream' });

/** Raw bodies kept by `keepRawBody`, keyed by request: never a property on Express's `req`, which would slow every later read of it. */
const rawBodies = new WeakMap<IncomingMessage, Buffer>();

/**
 * A body parser's `verify` hook that keeps the body's bytes, so that the balancer can forward
 * them exactly after the parser ran: `app.use(express.json({ verify: keepRawBody }))`.
 */
export function keepRawBody(req: IncomingMessage, _res: unknown, buffer: Buffer): void {
  rawBodies.set(req, buffer);
}

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Decide, before any server is chosen, how the body will be forwarded. */
export function planBody(req: IncomingMessage & { body?: unknown; rawBody?: unknown }, parsed?: ParsedBody): BodyPlan {
  if (!hasBody(req)) return NONE;
  // untouched: nobody read from it, and nobody is reading (a 'data' listener makes it flow)
  if (!req.readableEnded && !req.readableDidRead && req.readableFlowing !== true) return STREAM;
  const raw = rawBodies.get(req) ?? rawBytes(req.rawBody, req) ?? rawBytes(parsed?.rawBody, req);
  if (raw) return { kind: 'bytes', bytes: raw };
  const body = req.body !== undefined ? req.body : parsed?.body;
  if (body === undefined) return { kind: 'consumed', reason: 'the request stream was read before the balancer, and no parsed body or raw bytes were left' };
  return reserialized(body, req.headers['content-type'] ?? '');
}

/** A raw body kept as a Buffer or (Koa's `rawBody`) a string decoded with the request's charset. */
function rawBytes(value: unknown, req: IncomingMessage): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value !== 'string') return undefined;
  const encoding = encodingOf(req.headers['content-type'] ?? '');
  return encoding ? Buffer.from(value, encoding) : undefined;
}

/** What a parser produced, turned back into bytes only where the result is what was sent. */
function reserialized(body: unknown, contentType: string): BodyPlan {
  if (Buffer.isBuffer(body)) return { kind: 'bytes', bytes: body };
  if (typeof body === 'string') {
    const encoding = encodingOf(contentType);
    return encoding ? { kind: 'bytes', bytes: Buffer.from(body, encoding) } : consumed(`a text body in charset ${charsetOf(contentType)} cannot be re-encoded exactly`);
  }
  const type = contentType.toLowerCase();
  if (/\bjson\b|\+json/.test(type)) {
    const problem = inexactJson(body);
    return problem ? consumed(`the parsed JSON would not re-serialise exactly: ${problem}`) : { kind: 'bytes', bytes: Buffer.from(JSON.stringify(body)) };
  }
  if (type.includes('application/x-www-form-urlencoded')) {
    const form = formEncode(body);
    return form === undefined ? consumed('the parsed form has values that are not strings') : { kind: 'bytes', bytes: Buffer.from(form) };
  }
  return consumed(`a parsed ${type.split(';')[0] || 'body'} cannot be turned back into its bytes`);
}

function consumed(reason: string): BodyPlan {
  return { kind: 'consumed', reason };
}

const ENCODINGS: Readonly<Record<string, BufferEncoding>> = {
  'utf-8': 'utf8', utf8: 'utf8', 'us-ascii': 'latin1', ascii: 'latin1', 'iso-8859-1': 'latin1', latin1: 'latin1', 'utf-16le': 'utf16le', 'ucs-2': 'utf16le',
};

function charsetOf(contentType: string): string {
  return /charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase() ?? 'utf-8';
}

function encodingOf(contentType: string): BufferEncoding | undefined {
  return ENCODINGS[charsetOf(contentType)];
}

const MAX_DEPTH = 64;

/**
 * Why JSON.stringify would not give back what the client sent, or undefined. Numbers are the
 * trap: an integer beyond 2^53 or a decimal with more than 15 significant digits has already
 * lost precision in JSON.parse. (Key order and whitespace may differ; the value is the same.)
 */
export function inexactJson(value: unknown, depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return 'nested too deep';
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return 'a -0';
    if (Number.isInteger(value)) return Number.isSafeInteger(value) ? undefined : `the integer ${value} is beyond 2^53`;
    return significantDigits(value) <= 15 ? undefined : `the number ${value} has more than 15 significant digits`;
  }
  if (value === null || typeof value !== 'object') return typeof value === 'string' || typeof value === 'boolean' ? undefined : `a ${typeof value}`;
  for (const inner of Array.isArray(value) ? value : Object.values(value)) {
    const problem = inexactJson(inner, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function significantDigits(value: number): number {
  const mantissa = String(Math.abs(value)).replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '');
  return mantissa.length;
}

/**
 * Encode a parsed form: flat values as repeated keys (`a=1&a=2`, which every parser reads back
 * the same), nested objects in the `a[b]=c` form that qs, the only parser that makes them, reads
 * back. Undefined when a value is not a string.
 */
function formEncode(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const parts: string[] = [];
  const add = (key: string, inner: unknown, depth: number): boolean => {
    if (typeof inner === 'string') {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(inner)}`);
      return true;
    }
    if (depth > MAX_DEPTH) return false;
    if (Array.isArray(inner)) return inner.every((item) => typeof item === 'string' && add(key, item, depth + 1));
    if (typeof inner === 'object' && inner !== null) return Object.entries(inner).every(([name, item]) => add(`${key}[${name}]`, item, depth + 1));
    return false;
  };
  for (const [key, inner] of Object.entries(value)) if (!add(key, inner, 0)) return undefined;
  return parts.join('&');
}
