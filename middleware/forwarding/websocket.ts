import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Affinity, Pinning } from '../affinity/affinity.js';
import type { Guard } from '../guard.js';
import type { SafeLogger } from '../logger.js';
import { unlinked, type InFlight } from '../pool/in-flight.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { RouteMatch } from '../routing/routes.js';
import type { Outcome } from '../stats/server-stats.js';
import type { Forwarder } from './forwarder.js';
import { dropHopByHopRequestHeaders, peerAddress, requestProtocol, setForwardedHeaders } from './headers.js';
import { clientAddressOf, type Trust } from './trust.js';
import type { LoopGuard } from './loop.js';

/** One WebSocket (or other Upgrade) tunnel, from the pick until both sides are closed. */
interface Tunnel extends InFlight {
  readonly pool: Pool;
  readonly server: Server;
  readonly started: number;
  readonly setCookie: string | undefined;
  readonly socket: Duplex;
  /** The server answered 101 and the bytes flow: from now on an error can only close both sides. */
  upgraded: boolean;
  /** 101 once switched, or the status the server refused with. */
  status: number;
  ended: boolean;
}

/** http-proxy hands the per-call options to its 'proxyReqWs' event, so the tunnel rides there. */
type TunnelOptions = httpProxy.ServerOptions & { tunnel: Tunnel };

export interface TunnelsOptions {
  affinity: Affinity | undefined;
  trust: Trust;
  loop: LoopGuard;
  guard: Guard;
  logger: SafeLogger;
}

/**
 * WebSocket upgrades on routed paths, through http-proxy's ws(), whose handshake and socket
 * plumbing earn their keep here. A tunnel counts as in flight for as long as it is open, so
 * least-connections sees it and a drain waits for it; its handshake time and outcome count in
 * stats and passive health like a request's.
 */
export class Tunnels {
  readonly #proxy: httpProxy;
  readonly #forwarder: Forwarder;
  readonly #options: TunnelsOptions;

  constructor(forwarder: Forwarder, options: TunnelsOptions) {
    this.#forwarder = forwarder;
    this.#options = options;
    this.#proxy = httpProxy.createProxyServer({ xfwd: false });
    // every ws() call passes its own callback; this only guards against a crash
    this.#proxy.on('error', (error) => options.logger.error('unexpected WebSocket proxy error', { error: error.message }));
    // http-proxy adds its own 'upgrade' and 'response' listeners just after this event, so ours run first
    this.#proxy.on('proxyReqWs', (proxyReq, _req, _socket, callOptions) => watchHandshake(proxyReq, (callOptions as TunnelOptions).tunnel));
  }

  /** Answer an upgrade request with a plain HTTP error and close the socket. */
  refuse(socket: Duplex, status: number, text: string, extra = ''): void {
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
    socket.destroy();
  }

  open(pool: Pool, match: RouteMatch, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { affinity, trust, loop } = this.#options;
    if (loop.looped(req.headers.via)) return this.refuse(socket, 508, 'Loop Detected');
    const now = Date.now();
    const peer = peerAddress(req);
    const peerTrusted = trust(peer, 0);
    const key = pool.config.hash.key;
    const hashKey = key ? this.#options.guard.run(`pools.${pool.name}.hash.key`, () => key(req), undefined) : undefined;
    const context = { clientAddress: clientAddressOf(req, trust, peer), method: req.method ?? 'GET', path: match.path, headers: req.headers, now, ...(typeof hashKey === 'string' && hashKey !== '' ? { hashKey } : {}) };
    const found = pool.config.sticky ? affinity?.lookup(req, pool, now) : undefined;
    const go = (pinning: Pinning | undefined): void => {
      if (socket.destroyed) return;
      const pinned = pinning?.server;
      const choice = pinned && pool.acceptsPinned(pinned, Date.now()) ? pinned : pool.choose(context);
      if (choice === undefined || choice === 'full') return this.refuse(socket, 503, 'Service Unavailable', `Retry-After: ${pool.config.retryAfterS}\r\n`);
      const setCookie = pool.config.sticky ? affinity?.pin(req, pool, choice, pinning, now, requestProtocol(req, peerTrusted) === 'https') : undefined;
      req.url = match.upstreamUrl;
      dropHopByHopButUpgrade(req);
      if (affinity && pool.config.sticky) {
        const cookie = affinity.forwardedCookieHeader(pool, req.headers.cookie);
        if (cookie === undefined) delete req.headers.cookie;
        else req.headers.cookie = cookie;
      }
      setForwardedHeaders(req, peerTrusted, peer);
      req.headers.via = loop.via(req.headers.via);
      this.#tunnel(pool, choice, req, socket, head, setCookie);
    };
    if (found instanceof Promise) found.then(go, () => go(undefined));
    else go(found);
  }

  close(): void {
    this.#proxy.close();
  }

  #tunnel(pool: Pool, server: Server, req: IncomingMessage, socket: Duplex, head: Buffer, setCookie: string | undefined): void {
    const tunnel: Tunnel = {
      pool,
      server,
      started: performance.now(),
      setCookie,
      socket,
      upgraded: false,
      status: 0,
      ended: false,
      abort: () => socket.destroy(),
      ...unlinked(),
    };
    pool.acquire(server, tunnel);
    server.stats.started(Date.now());
    socket.once('close', () => endTunnel(tunnel, tunnel.upgraded ? 'ok' : 'aborted'));
    const options: TunnelOptions = {
      target: server.target as unknown as httpProxy.ProxyTargetUrl,
      agent: this.#forwarder.agentFor(pool, server),
      changeOrigin: pool.config.changeOrigin,
      secure: pool.config.tls.rejectUnauthorized !== false,
      tunnel,
    };
    this.#proxy.ws(req, socket, head, options, (error) => {
      if (tunnel.upgraded) {
        // the 101 is out and WebSocket frames flow: an HTTP answer now would corrupt the stream
        endTunnel(tunnel, 'reset');
        socket.destroy();
        return;
      }
      const code = (error as NodeJS.ErrnoException).code ?? '';
      endTunnel(tunnel, code === 'ECONNREFUSED' ? 'connect' : 'reset');
      this.refuse(socket, 502, 'Bad Gateway');
    });
  }
}

/** Mark the 101, add the affinity cookie to it, and count a refused handshake by its status. */
function watchHandshake(proxyReq: ClientRequest, tunnel: Tunnel): void {
  proxyReq.on('upgrade', (proxyRes: IncomingMessage, proxySocket: Duplex) => {
    tunnel.upgraded = true;
    tunnel.status = 101;
    if (tunnel.setCookie !== undefined) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), tunnel.setCookie];
    tunnel.server.stats.latency(performance.now() - tunnel.started);
    // http-proxy ends the client's side on a server error; a reset must close both at once
    proxySocket.on('error', () => proxySocket.destroy());
  });
  proxyReq.on('response', (proxyRes: IncomingMessage) => {
    // the server answered with a status instead of switching: http-proxy relays it, we count it
    const status = proxyRes.statusCode ?? 502;
    tunnel.status = status;
    endTunnel(tunnel, status >= 500 ? 'http5xx' : status >= 400 ? 'http4xx' : 'ok');
  });
}

function endTunnel(tunnel: Tunnel, outcome: Outcome): void {
  if (tunnel.ended) return;
  tunnel.ended = true;
  const { bytesRead = 0, bytesWritten = 0 } = tunnel.socket as Duplex & { bytesRead?: number; bytesWritten?: number };
  tunnel.server.stats.finished(outcome, performance.now() - tunnel.started, bytesRead, bytesWritten, Date.now(), !tunnel.upgraded, tunnel.status);
  tunnel.pool.release(tunnel.server, tunnel, outcome);
}

/** The upgrade headers are what this request is for; every other hop-by-hop header goes. */
function dropHopByHopButUpgrade(req: IncomingMessage): void {
  const { connection, upgrade } = req.headers;
  dropHopByHopRequestHeaders(req.headers);
  if (upgrade !== undefined) req.headers.upgrade = upgrade;
  if (connection !== undefined) req.headers.connection = 'Upgrade';
}
