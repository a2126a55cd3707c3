import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ParsedBody } from '../forwarding/body.js';

/** The slice of Koa's context we touch; the core never imports koa. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
  /** Where Koa body parsers leave `body` and `rawBody`. */
  request?: ParsedBody;
}
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown>;

interface Handles {
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, parsed?: ParsedBody): void;
}

/** `app.use(balancer.koa())`: a routed request is answered by the proxy, so Koa must not respond. */
export function koaAdapter(balancer: Handles): KoaMiddleware {
  return (ctx, next) => {
    let passed = false;
    balancer.handle(ctx.req, ctx.res, () => (passed = true), ctx.request);
    if (passed) return next();
    ctx.respond = false;
    return Promise.resolve();
  };
}
