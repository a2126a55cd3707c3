import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendError } from './http.js';
import { LoginLimiter } from './login-limiter.js';
import type { DashboardConfig } from './options.js';

const users = new WeakMap<IncomingMessage, string>();

/** The user `authenticate` let in; "anonymous" on an `insecure` dashboard. */
export function userOf(req: IncomingMessage): string {
  return users.get(req) ?? 'anonymous';
}

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="switchyard", charset="UTF-8"' };

/**
 * The first middleware of the dashboard: refuses rate-limited addresses (429), then checks basic
 * auth and/or the `authorize` hook; a refused login counts against the client's address.
 */
export function authenticate(config: DashboardConfig) {
  const limiter = new LoginLimiter(config.loginLimit.max, config.loginLimit.windowMs);
  const checkBasic = config.auth ? basicChecker(config.auth.username, config.auth.password) : null;

  return async (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> => {
    const credentials = checkBasic ? parseBasic(req.headers.authorization) : undefined;
    // per address and user name: one client hammering a name locks out neither other names nor
    // other clients behind the same (trusted) proxy
    const address = `${config.clientAddress(req)}\0${credentials?.username ?? ''}`;
    try {
      const blockedMs = limiter.blockedFor(address);
      if (blockedMs > 0) {
        throw new HttpError(429, 'too many failed logins; try again later', { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
      }
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
