import type { Affinity } from '../../affinity/affinity.js';
import type { Exchange } from '../exchange.js';
import { dropHopByHopRequestHeaders, setForwardedHeaders } from '../headers.js';
import type { LoopGuard } from '../loop.js';

/** One step of the request's way out: a small function over the exchange, run in order. */
export interface RequestPass {
  readonly name: string;
  run(exchange: Exchange): void;
}

export interface RequestPassContext {
  readonly trustProxy: boolean;
  readonly affinity: Affinity | undefined;
  readonly loop: LoopGuard;
}

/**
 * The request passes, in order (node-http-proxy's web-incoming passes are the model). They run
 * once per request, after the server is chosen and before the first attempt; each is a named,
 * separately tested function of the exchange.
 */
export function requestPasses(context: RequestPassContext): readonly RequestPass[] {
  return [
    { name: 'upstream-path', run: (exchange) => void (exchange.req.url = exchange.route.upstreamUrl) },
    { name: 'hop-by-hop', run: (exchange) => dropHopByHopRequestHeaders(exchange.req.headers) },
    // Node already answered 100-continue to the client. (Delete only what is there: a delete
    // turns the headers object into a slow dictionary for every later read.)
    { name: 'expect', run: ({ req }) => void (req.headers.expect !== undefined && delete req.headers.expect) },
    { name: 'affinity-cookie', run: (exchange) => stripAffinityCookie(exchange, context.affinity) },
    { name: 'forwarded', run: (exchange) => setForwardedHeaders(exchange.req, context.trustProxy, exchange.peerAddress) },
    { name: 'via', run: ({ req }) => void (req.headers.via = context.loop.via(req.headers.via)) },
    { name: 'body-framing', run: bodyFraming },
  ];
}

/** Servers never see the affinity cookie, unless the pool asks for it. */
function stripAffinityCookie(exchange: Exchange, affinity: Affinity | undefined): void {
  if (!affinity || !exchange.pool.config.sticky) return;
  const { headers } = exchange.req;
  const cookie = affinity.forwardedCookieHeader(exchange.pool, headers.cookie);
  if (cookie === headers.cookie) return;
  if (cookie === undefined) delete headers.cookie;
  else headers.cookie = cookie;
}

/** Bytes known in advance go with their own length; they are decoded, so no Content-Encoding either. */
export function bodyFraming(exchange: Exchange): void {
  const { body, req } = exchange;
  if (body.kind !== 'bytes') return;
  const { headers } = req;
  headers['content-length'] = String(body.bytes.length);
  if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
  if (headers['content-encoding'] !== undefined) delete headers['content-encoding'];
}
