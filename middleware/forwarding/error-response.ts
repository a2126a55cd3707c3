import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_BY_CODE, UpstreamError, type ErrorCode } from '../errors.js';
import type { Guard } from '../guard.js';
import type { ErrorHookContext } from '../hooks.js';
import type { Exchange } from './exchange.js';

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
  /** The request id header and value, so that an error can be matched to its logs. */
  requestId?: [string, string] | undefined;
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
  if (options.requestId) headers[options.requestId[0]] = options.requestId[1];
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

/** What delivering an exchange's error needs from it. */
export function errorDelivery(exchange: Exchange): ErrorDelivery {
  const route = exchange.route.route;
  return {
    req: exchange.req,
    res: exchange.res,
    pool: exchange.pool.name,
    server: (exchange.server as Exchange['server'] | undefined)?.id,
    onError: exchange.onError,
    hooks: route.hooks.error,
    hookSite: `routes[${route.index}].hooks.error`,
  };
}

export interface ErrorDelivery {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly pool: string;
  readonly server: string | undefined;
  /** `express({ errors: 'next' })`: the app's error handler renders it. */
  readonly onError: ((error: UpstreamError) => void) | undefined;
  readonly hooks: ReadonlyArray<(context: ErrorHookContext) => boolean | void>;
  readonly hookSite: string;
}

/**
 * Answer a request that could not be forwarded: the app's error handler (`errors: 'next'`), or
 * an error hook that writes its own answer, or the default well-formed error response.
 */
export function deliverError(delivery: ErrorDelivery, code: ErrorCode, options: ErrorResponseOptions, guard: Guard): void {
  const { req, res } = delivery;
  if (!res.headersSent && !res.destroyed && (delivery.onError || delivery.hooks.length > 0)) {
    const error = new UpstreamError(code, MESSAGES[code] ?? 'The request could not be forwarded.', { pool: delivery.pool, server: delivery.server });
    if (delivery.onError) {
      if (options.retryAfterS !== undefined) res.setHeader('retry-after', options.retryAfterS);
      return delivery.onError(error);
    }
    for (const hook of delivery.hooks) {
      const handled = guard.run(delivery.hookSite, () => hook({ req, res, error }), false);
      if (handled === true || res.headersSent || res.writableEnded) return;
    }
  }
  sendError(req, res, code, options);
}
