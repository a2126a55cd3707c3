import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, pathOf, sendError } from './http.js';
import { LoginLimiter } from './login-limiter.js';
import type { DashboardConfig } from './options.js';
import { parseBearer, tokenChecker } from './tokens.js';

const users = new WeakMap<IncomingMessage, string>();
const byToken = new WeakSet<IncomingMessage>();

/** The user `authenticate` let in; "anonymous" on an `insecure` dashboard. */
export function userOf(req: IncomingMessage): string {
  return users.get(req) ?? 'anonymous';
}

/** Whether `authenticate` let this request in by a bearer token (a machine client, not a browser). */
export function byBearerToken(req: IncomingMessage): boolean {
  return byToken.has(req);
}

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="switchyard", charset="UTF-8"' };
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="switchyard", error="invalid_token"' };
/** The limiter's "user" for bearer attempts: guesses from one address share one count, whatever the token. */
const BEARER_USER = '\0bearer';

/**
 * The first middleware of the dashboard: refuses rate-limited addresses (429), then checks basic
 * auth and/or the `authorize` hook; a refused login counts against the client's address.
 * Under `api/`, a bearer token from `auth.tokens` stands on its own instead.
 */
export function authenticate(config: DashboardConfig) {
  const limiter = new LoginLimiter(config.loginLimit.max, config.loginLimit.windowMs);
  const checkBasic = config.auth ? basicChecker(config.auth.username, config.auth.password) : null;
  const checkToken = config.tokens.length > 0 ? tokenChecker(config.tokens) : null;

  return async (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> => {
    // only the JSON API takes tokens: the page and its live stream are for people, who log in
    const bearer = checkToken && isApiPath(pathOf(req)) ? parseBearer(req.headers.authorization) : undefined;
    if (checkToken && bearer !== undefined) {
      try {
        users.set(req, tokenUser(limiter, checkToken, bearer, `${config.clientAddress(req)}\0${BEARER_USER}`));
        byToken.add(req);
      } catch (error) {
        return error instanceof HttpError ? sendError(res, error) : next(error);
      }
      return next();
    }
    const credentials = checkBasic ? parseBasic(req.headers.authorization) : undefined;
    // per address and user name: one client hammering a name locks out neither other names nor
    // other clients behind the same (trusted) proxy
    const address = `${config.clientAddress(req)}\0${credentials?.username ?? ''}`;
    try {
      refuseIfBlocked(limiter, address);
      let user: string | undefined;
      if (checkBasic) {
        if (!credentials) throw new HttpError(401, 'authentication required', CHALLENGE);
        if (!checkBasic(credentials.username, credentials.password)) {
          limiter.fail(address);
          throw new HttpError(401, 'wrong user name or password', CHALLENGE);
        }
        user = credentials.username;
      }
      if (config.authorize) {
        const verdict = await config.authorize(req);
        if (verdict !== true && (typeof verdict !== 'string' || verdict === '')) {
          limiter.fail(address);
          throw checkBasic ? new HttpError(403, 'not authorized') : new HttpError(401, 'not authorized');
        }
        user = typeof verdict === 'string' ? verdict : (user ?? 'unknown');
      }
      if (user !== undefined) limiter.succeed(address);
      users.set(req, user ?? 'anonymous');
    } catch (error) {
      // a throwing hook is a bug, not a refusal: the router's error handler logs it
      return error instanceof HttpError ? sendError(res, error) : next(error);
    }
    next();
  };
}

/** The name of the bearer token given; a wrong one counts as a failed login of `key`. */
function tokenUser(limiter: LoginLimiter, check: (token: string) => string | undefined, token: string, key: string): string {
  refuseIfBlocked(limiter, key);
  const name = check(token);
  if (name === undefined) {
    limiter.fail(key);
    throw new HttpError(401, 'wrong bearer token', BEARER_CHALLENGE);
  }
  limiter.succeed(key);
  return name;
}

function refuseIfBlocked(limiter: LoginLimiter, key: string): void {
  const blockedMs = limiter.blockedFor(key);
  if (blockedMs > 0) throw new HttpError(429, 'too many failed logins; try again later', { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * Compare both fields in constant time: HMAC each side under a random key, so the compared
 * buffers always have the same length, then timingSafeEqual. Both are always compared.
 */
export function basicChecker(username: string, password: string): (username: string, password: string) => boolean {
  const key = randomBytes(32);
  const digest = (value: string) => createHmac('sha256', key).update(value).digest();
  const expectedUser = digest(username);
  const expectedPassword = digest(password);
  return (givenUser, givenPassword) => {
    const userOk = timingSafeEqual(digest(givenUser), expectedUser);
    const passwordOk = timingSafeEqual(digest(givenPassword), expectedPassword);
    return userOk && passwordOk;
  };
}

/** `Authorization: Basic base64(user:password)` → its parts; anything else → undefined. */
export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
