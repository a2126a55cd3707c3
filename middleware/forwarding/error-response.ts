import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_BY_CODE, type ErrorCode } from '../errors.js';

/** What clients read: plain words, never a server's address or an internal error message. */
export const MESSAGES: Partial<Record<ErrorCode, string>> = {
  NO_ELIGIBLE_SERVER: 'No server is available to handle this request. Try again shortly.',
  QUEUE_FULL: 'Every server is busy and too many requests are waiting. Try again shortly.',
  QUEUE_TIMEOUT: 'Every server stayed busy while this request waited. Try again shortly.',
  SHUTTING_DOWN: 'This instance is shutting down. Try again.',
  LOOP_DETECTED: 'This request came back to the proxy that sent it: the pool routes to itself.',
  BODY_ALREADY_CONSUMED: 'The request body was read before the proxy could forward it.',
  CALLBACK_FAILED: 'The proxy could not handle this request.',
  UPSTREAM_CONNECT_FAILED: 'The server for this request could not be reached.',
  UPSTREAM_CONNECT_TIMEOUT: 'The server for this request did not accept the connection in time.',
  UPSTREAM_RESPONSE_TIMEOUT: 'The server for this request did not answer in time.',
  UPSTREAM_RESET: 'The server for this request closed the connection unexpectedly.',
  UPSTREAM_BAD_RESPONSE: 'The server for this request sent a malformed response.',
};

export interface ErrorResponseOptions {
  /** Seconds in `Retry-After` (503s). */
  retryAfterS?: number | undefined;
  /** Ask the client to close its connection (this instance is going away). */
  close?: boolean;
}

/** A well-formed error response: JSON for clients that accept it, short text otherwise. Never throws. */
export function sendError(req: IncomingMessage, res: ServerResponse, code: ErrorCode, options: ErrorResponseOptions = {}): void {
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
  if (options.retryAfterS !== undefined) headers['retry-after'] = options.retryAfterS;
  if (options.close) headers.connection = 'close';
  try {
    // headers set before us by the host app (Express's X-Powered-By) stay; ours win
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.destroy();
  }
}

function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/(?:[\w.+-]*\+)?json\b/i.test(accept);
}
