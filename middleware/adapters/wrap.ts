import type { IncomingMessage, ServerResponse } from 'node:http';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface Handles {
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}

/** `http.createServer(balancer.wrap(app))`: no framework cost on proxied requests. */
export function wrapAdapter(balancer: Handles, app: RequestHandler): RequestHandler {
  return (req, res) => balancer.handle(req, res, () => app(req, res));
}
