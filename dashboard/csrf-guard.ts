import type { IncomingMessage, ServerResponse } from 'node:http';
import { byBearerToken, userOf } from './auth.js';
import { isForm, readBody } from './body.js';
import type { CsrfTokens } from './csrf.js';
import { HttpError, sendError } from './http.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every state-changing request must carry the user's CSRF token: the JSON API in an
 * `x-csrf-token` header, the page's forms in a hidden `_csrf` field. Without it: 403.
 * A request in with a bearer token needs none: CSRF abuses credentials a browser sends by itself
 * (basic auth it remembers), and no browser adds an `Authorization: Bearer` header on its own.
 */
export function csrfGuard(tokens: CsrfTokens, bodyLimit: number) {
  return async (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> => {
    if (SAFE.has(req.method ?? 'GET') || byBearerToken(req)) return next();
    try {
      let token: unknown = req.headers['x-csrf-token'];
      if (token === undefined && isForm(req)) token = (await readBody(req, bodyLimit))._csrf;
      if (!tokens.verify(userOf(req), token)) throw new HttpError(403, 'missing or wrong CSRF token (x-csrf-token header or _csrf field)');
    } catch (error) {
      return error instanceof HttpError ? sendError(res, error) : next(error);
    }
    next();
  };
}
