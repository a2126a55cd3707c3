import type { IncomingMessage, ServerResponse } from 'node:http';

/** A connect-style middleware, as Express and connect call it. */
export type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

interface Handles {
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}

/** `app.use(balancer.express())`: proxies routed requests, calls `next()` for the rest. */
export function expressAdapter(balancer: Handles): ConnectMiddleware {
  // `next` is called with no argument, which is what Express's next() wants to hear
  return (req, res, next) => balancer.handle(req, res, next);
}
