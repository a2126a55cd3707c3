import type { Affinity } from '../../affinity/affinity.js';
import type { ErrorCode } from '../../errors.js';
import type { Guard } from '../../guard.js';
import type { RequestHookContext } from '../../hooks.js';
import type { Exchange } from '../exchange.js';
import { dropHopByHopRequestHeaders, setForwardedHeaders } from '../headers.js';
import type { LoopGuard } from '../loop.js';

/** One step of the request's way out: a small function over the exchange, run in order; an error code stops the request. */
export interface RequestPass {
  readonly name: string;
  run(exchange: Exchange): ErrorCode | undefined;
}

export interface RequestPassContext {
  readonly affinity: Affinity | undefined;
  readonly loop: LoopGuard;
  readonly guard: Guard;
  readonly requestId: { header: string; generate: () => string } | null;
}

/**
 * The request passes, in order (node-http-proxy's web-incoming passes are the model). They run
 * once per request, after the server is chosen and before the first attempt; each is a named,
 * separately tested function of the exchange.
 */
export function requestPasses(context: RequestPassContext): readonly RequestPass[] {
  const passes: RequestPass[] = [
    { name: 'upstream-path', run: (exchange) => upstreamPath(exchange, context.guard) },
    { name: 'hop-by-hop', run: (exchange) => void dropHopByHopRequestHeaders(exchange.req.headers) },
    // Node already answered 100-continue to the client. (Delete only what is there: a delete
    // turns the headers object into a slow dictionary for every later read.)
    { name: 'expect', run: ({ req }) => void (req.headers.expect !== undefined && delete req.headers.expect) },
    { name: 'affinity-cookie', run: (exchange) => void stripAffinityCookie(exchange, context.affinity) },
    { name: 'forwarded', run: (exchange) => void setForwardedHeaders(exchange.req, exchange.peerTrusted, exchange.peerAddress) },
    { name: 'via', run: ({ req }) => void (req.headers.via = context.loop.via(req.headers.via)) },
  ];
  const { requestId } = context;
  if (requestId) passes.push({ name: 'request-id', run: (exchange) => void assignRequestId(exchange, requestId) });
  passes.push({ name: 'body-framing', run: (exchange) => void bodyFraming(exchange) });
  passes.push({ name: 'request-hooks', run: (exchange) => requestHooks(exchange, context.guard) });
  return passes;
}

/** The path after stripPrefix, then the route's rewrite. */
function upstreamPath(exchange: Exchange, guard: Guard): ErrorCode | undefined {
  const { route, upstreamUrl } = exchange.route;
  const rewrite = route.rewrite;
  if (!rewrite) {
    exchange.req.url = upstreamUrl;
    return undefined;
  }
  const rewritten = guard.run(`routes[${route.index}].rewrite`, () => rewrite(upstreamUrl, exchange.req), undefined);
  if (typeof rewritten !== 'string' || !rewritten.startsWith('/')) return 'CALLBACK_FAILED';
  exchange.req.url = rewritten;
  return undefined;
}

/**
 * Keep the request id a trusted proxy in front sent, or make one; it goes upstream and comes
 * back on the response. (A client's own id is not trusted: ids end up in logs and traces.)
 */
function assignRequestId(exchange: Exchange, { header, generate }: { header: string; generate: () => string }): void {
  const incoming = exchange.req.headers[header];
  const id = exchange.peerTrusted && typeof incoming === 'string' && incoming !== '' && incoming.length <= 200 ? incoming : generate();
  exchange.requestId = id;
  exchange.req.headers[header] = id;
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

/** The user's request hooks, last: they see (and may change) exactly what goes upstream. */
function requestHooks(exchange: Exchange, guard: Guard): ErrorCode | undefined {
  const hooks = exchange.route.route.hooks.request;
  if (hooks.length === 0) return undefined;
  const { req } = exchange;
  const context: RequestHookContext = { req, headers: req.headers, path: req.url!, pool: exchange.pool.name, server: exchange.server.id, requestId: exchange.requestId };
  const site = `routes[${exchange.route.route.index}].hooks.request`;
  for (const hook of hooks) {
    const failed = guard.run(site, () => void hook(context), true);
    if (failed) return 'CALLBACK_FAILED';
  }
  if (typeof context.path !== 'string' || !context.path.startsWith('/')) return 'CALLBACK_FAILED';
  req.url = context.path;
  return undefined;
}
