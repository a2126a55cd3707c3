import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_BY_CODE, type ErrorCode } from '../errors.js';

/** What clients read: plain words, never a server's address or an internal error message. */
const MESSAGES: Partial<Record<ErrorCode, string>> = {
  NO_ELIGIBLE_SERVER: 'No server is available to handle this request. Try again shortly.',
  UPSTREAM_CONNECT_FAILED: 'The server for this request could not be reached.',
  UPSTREAM_CONNECT_TIMEOUT: 'The server for this request did not accept the connection in time.',
  UPSTREAM_RESPONSE_TIMEOUT: 'The server for this request did not answer in time.',
  UPSTREAM_RESET: 'The server for this request closed the connection unexpectedly.',
};

/** A well-formed error response: JSON for clients that accept it, short text otherwise. */
export function sendError(req: IncomingMessage, res: ServerResponse, code: ErrorCode, retryAfterS?: number): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const status = STATUS_BY_CODE[code];
  const message = MESSAGES[code] ?? 'The request could not be forwarded.';
  const json = wantsJson(req.headers.accept);
  const body = json ? JSON.stringify({ error: { status, code, message } }) : `${status} ${message}\n`;
  const headers: Record<string, string | number> = {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (retryAfterS !== undefined) headers['retry-after'] = retryAfterS;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/(?:[\w.+-]*\+)?json\b/i.test(accept);
}
