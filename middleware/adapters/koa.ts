import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandleOptions } from '../balancer.js';
import type { ParsedBody } from '../forwarding/body.js';
import { compileTrust } from '../forwarding/trust.js';

/** The slice of Koa's context we touch; the core never imports koa. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
  /** Where Koa body parsers leave `body` and `rawBody`. */
  request?: ParsedBody;
  /** Koa's `app.proxy`: whether X-Forwarded-* is believed. */
  app?: { proxy?: boolean };
}
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown>;

interface Handles {
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, options?: HandleOptions): void;
}

const TRUST_ALL = compileTrust(true);

/**
 * `app.use(balancer.koa())`: a routed request is answered by the proxy (`ctx.respond = false`),
 * and the promise resolves once the proxied response has finished, so that middleware above
 * that awaits `next()` (a logger) sees the real status in `ctx.status`, as with koa-proxies.
 */
export function koaAdapter(balancer: Handles): KoaMiddleware {
  return (ctx, next) => {
    let passed = false;
    balancer.handle(ctx.req, ctx.res, () => (passed = true), { parsed: ctx.request, ...(ctx.app?.proxy ? { trust: TRUST_ALL } : {}) });
    if (passed) return next();
    ctx.respond = false;
    const { res } = ctx;
    if (res.writableFinished || res.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('finish', done).off('close', done);
        resolve(undefined);
      };
      res.once('finish', done).once('close', done);
    });
  };
}
