import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Plain node:http helpers: the dashboard also runs in Koa and on its own server, so it
 * uses none of Express's `res.json`, `res.render` or `req.query`.
 */

/** A request the dashboard refuses, with the status and message the client gets as JSON. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }
}

/** No inline script or style anywhere: the page's JS and CSS are files served by the router. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Headers on every dashboard response, refusals included. */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Errors as `{ "error": message, "status": n }`; anything but an HttpError is a 500 with no details. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const known = error instanceof HttpError ? error : new HttpError(500, 'internal error');
  sendJson(res, known.status, { error: known.message, status: known.status }, known.headers);
}

export function sendText(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Redirect with a relative Location, so it survives any mount path and prefix-stripping proxies. */
export function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.end();
}

/** The path of the request below the dashboard's mount point, as the router sees it. */
export function pathOf(req: IncomingMessage): string {
  return pathOfUrl(req.url ?? '/');
}

export function pathOfUrl(url: string): string {
  const end = url.indexOf('?');
  return end === -1 ? url : url.slice(0, end);
}

/** A relative URL from this request back to the dashboard's root page: `../../` for `/a/b/c`. */
export function toRoot(req: IncomingMessage): string {
  const depth = pathOf(req).split('/').length - 2;
  return depth <= 0 ? './' : '../'.repeat(depth);
}

/** Route parameters, as the router sets them (a plain object, also outside Express). */
export function paramsOf(req: IncomingMessage): Record<string, string> {
  return (req as IncomingMessage & { params?: Record<string, string> }).params ?? {};
}
