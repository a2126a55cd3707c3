import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.js';

/** A parsed request body: JSON's top-level object, or a form's fields. */
export type Body = Record<string, unknown>;

const parsed = new WeakMap<IncomingMessage, Promise<Body>>();

/** Whether the body is an HTML form's (so the CSRF token is in a field, and the answer a redirect). */
export function isForm(req: IncomingMessage): boolean {
  return mediaType(req) === 'application/x-www-form-urlencoded';
}

/**
 * Read and parse the body once per request (later calls share the result): JSON or
 * urlencoded, at most `limit` bytes (413 past it), malformed → 400, other types → 415.
 * A body that a host app's parser (express.json(), express.urlencoded()) has already read is used as is.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  let body = parsed.get(req);
  if (!body) {
    body = parse(req, limit);
    parsed.set(req, body);
  }
  return body;
}

async function parse(req: IncomingMessage, limit: number): Promise<Body> {
  const already = (req as IncomingMessage & { body?: unknown }).body;
  if (req.readableEnded && already !== undefined) {
    if (typeof already === 'object' && already !== null && !Array.isArray(already) && !Buffer.isBuffer(already)) return already as Body;
    return {};
  }
  const text = await readText(req, limit);
  if (text.trim() === '') return {};
  const type = mediaType(req);
  if (type === 'application/json' || type.endsWith('+json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'malformed JSON body');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'expected a JSON object');
    return value as Body;
  }
  if (type === 'application/x-www-form-urlencoded') {
    // a null prototype: a field named __proto__ stays a field
    const fields: Body = Object.create(null) as Body;
    for (const [name, value] of new URLSearchParams(text)) fields[name] = value;
    return fields;
  }
  throw new HttpError(415, 'expected application/json or application/x-www-form-urlencoded');
}

function readText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume(); // let the client finish sending so it can read the 413
    return Promise.reject(new HttpError(413, `body larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: Error) => {
      req.off('data', onData);
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(new HttpError(413, `body larger than ${limit} bytes`));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (size <= limit) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', fail);
  });
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
