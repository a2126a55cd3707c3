import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpstreamError } from '../errors.js';
import type { HandleOptions } from '../balancer.js';
import type { Trust } from '../forwarding/trust.js';

/** A connect-style middleware, as Express and connect call it. */
export type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

export interface ExpressAdapterOptions {
  /**
   * `'respond'` (default): switchyard answers upstream failures itself (a JSON or text 502/503/504).
   * `'next'`: they go to `next(err)` as an UpstreamError, for the app's error handler to render.
   */
  errors?: 'respond' | 'next';
}

interface Handles {
  handle(req: IncomingMessage, res: ServerResponse, next: () => void, options?: HandleOptions): void;
}

/** What Express puts on a request: its app, whose compiled `trust proxy` setting we follow. */
type ExpressRequest = IncomingMessage & { app?: { get(name: string): unknown } };

/** `app.use(balancer.express())`: proxies routed requests, calls `next()` for the rest. */
export function expressAdapter(balancer: Handles, { errors = 'respond' }: ExpressAdapterOptions = {}): ConnectMiddleware {
  return (req, res, next) => {
    const trust = (req as ExpressRequest).app?.get('trust proxy fn') as Trust | undefined;
    const onError = errors === 'next' ? (error: UpstreamError) => next(error) : undefined;
    // `next` is called with no argument, which is what Express's next() wants to hear
    balancer.handle(req, res, next, trust === undefined && onError === undefined ? undefined : { trust, onError });
  };
}
