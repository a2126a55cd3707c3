import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * Header passes, each a pure function run once per forwarded request.
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not cross the proxy.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization'];

/**
 * Headers no client may take away by naming them in `Connection`: without Host the server would
 * see its own address (and routing and forwarding would disagree), without the framing headers
 * the body would be cut or run on.
 */
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * Drop hop-by-hop request headers, including those the client named in `Connection` (but never
 * the protected ones). `transfer-encoding` stays: Node re-frames the body for the next hop from it.
 */
export function dropHopByHopRequestHeaders(headers: IncomingHttpHeaders): void {
  // Most requests carry none of these: test them by name (cheap property loads) and only
  // then delete, since a delete makes the headers object a slow dictionary for later reads.
  if (
    headers.connection === undefined && headers['keep-alive'] === undefined && headers['proxy-connection'] === undefined &&
    headers.te === undefined && headers.trailer === undefined && headers.upgrade === undefined &&
    headers['proxy-authenticate'] === undefined && headers['proxy-authorization'] === undefined
  ) {
    return;
  }
  const named = headers.connection;
  if (named) {
    for (const raw of named.split(',')) {
      const name = raw.trim().toLowerCase();
      if (!PROTECTED.has(name)) delete headers[name];
    }
  }
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
}

/** The address of the peer, without the IPv4-mapped prefix. */
export function peerAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Did this request reach us over HTTPS (directly, or as the trusted proxy in front says)? */
export function requestProtocol(req: IncomingMessage, peerTrusted: boolean): 'http' | 'https' {
  if (peerTrusted) {
    const forwarded = req.headers['x-forwarded-proto'];
    if (typeof forwarded === 'string' && forwarded) return forwarded.split(',', 1)[0]!.trim().toLowerCase() === 'https' ? 'https' : 'http';
  }
  return (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
}

/**
 * Set X-Forwarded-For, -Proto and -Host. From a trusted peer: append to what the proxy in front
 * sent and keep its Proto and Host. Otherwise (the default): replace them, since a client can
 * forge them.
 */
export function setForwardedHeaders(req: IncomingMessage, peerTrusted: boolean, peer = peerAddress(req)): void {
  const headers = req.headers;
  const forwardedFor = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = peerTrusted && forwardedFor ? `${forwardedFor}, ${peer}` : peer;
  if (!peerTrusted || !headers['x-forwarded-proto']) headers['x-forwarded-proto'] = requestProtocol(req, false);
  if (!peerTrusted || !headers['x-forwarded-host']) {
    if (headers.host) headers['x-forwarded-host'] = headers.host;
    else delete headers['x-forwarded-host'];
  }
}

const RESPONSE_HOP_BY_HOP = new Set([...HOP_BY_HOP, 'transfer-encoding']);
/** Headers that name the server's origin or paths, which the client must see as its own (passes/origin.ts). */
const ORIGIN_BOUND = new Set(['location', 'content-location', 'set-cookie']);
/** Name lengths worth lowercasing for a look-up: the hop-by-hop names', content-length's and the origin-bound ones'. */
const INTERESTING_LENGTHS = new Set([...RESPONSE_HOP_BY_HOP, 'content-length', ...ORIGIN_BOUND].map((name) => name.length));

export interface ResponseHead {
  /** Flat [name, value, …] for `res.writeHead`. */
  headers: string[];
  /** The server's Content-Length, or -1 when it sent none. */
  contentLength: number;
  /** Positions (of names) in `headers` of Location, Content-Location and Set-Cookie, the ones origin rewriting looks at. */
  originBound: number[] | undefined;
}

/**
 * The server's response headers for `res.writeHead`, in one pass over the raw pairs: without
 * hop-by-hop ones (our connection to the client frames its own body), plus `extra` pairs
 * (an affinity Set-Cookie) added beside the server's own, never replacing them.
 */
export function responseHead(rawHeaders: readonly string[], extra?: readonly string[]): ResponseHead {
  const headers: string[] = [];
  let contentLength = -1;
  let named: string | undefined;
  let originBound: number[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (INTERESTING_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') contentLength = Number(rawHeaders[i + 1]) || 0;
      else if (lower === 'connection') named = namedInConnection(rawHeaders[i + 1]!);
      else if (ORIGIN_BOUND.has(lower)) (originBound ??= []).push(headers.length);
      if (RESPONSE_HOP_BY_HOP.has(lower)) continue;
    }
    headers.push(name, rawHeaders[i + 1]!);
  }
  // rare: headers the server named in Connection are hop-by-hop too (positions then move: look again)
  if (named !== undefined) {
    dropNamed(headers, named);
    originBound = undefined;
    for (let i = 0; i < headers.length; i += 2) if (ORIGIN_BOUND.has(headers[i]!.toLowerCase())) (originBound ??= []).push(i);
  }
  if (extra) headers.push(...extra);
  return { headers, contentLength, originBound };
}

/** The header names a Connection value lists, or undefined for the usual bare `keep-alive` or `close`. */
function namedInConnection(value: string): string | undefined {
  const lower = value.toLowerCase();
  return lower === 'keep-alive' || lower === 'close' ? undefined : lower;
}

function dropNamed(headers: string[], connection: string): void {
  const names = new Set(connection.split(',').map((name) => name.trim()));
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (names.has(headers[i]!.toLowerCase())) headers.splice(i, 2);
  }
}
