import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type httpProxy from 'http-proxy';
import { unlinked, type InFlight } from '../pool/in-flight.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import type { Forwarder } from './forwarder.js';

/** http-proxy hands the per-call options to its 'proxyReqWs' event, so the cookie rides there. */
export type TunnelOptions = httpProxy.ServerOptions & { setCookie: string | undefined };

/**
 * Add a Set-Cookie (an affinity cookie) to the server's 101 answer before http-proxy writes it
 * to the client. Browsers store cookies from a WebSocket handshake like from any response.
 */
export function addSetCookieOnUpgrade(proxyReq: ClientRequest, setCookie: string): void {
  proxyReq.on('upgrade', (proxyRes: IncomingMessage) => {
    const own = proxyRes.headers['set-cookie'] ?? [];
    proxyRes.headers['set-cookie'] = [...own, setCookie];
  });
}

/**
 * One WebSocket (or other Upgrade) tunnel to a server. It counts as in flight for as long as
 * it is open, so least-connections sees it and a drain waits for it.
 */
export function tunnel(forwarder: Forwarder, pool: Pool, server: Server, req: IncomingMessage, socket: Duplex, head: Buffer, setCookie?: string): void {
  let open = true;
  const handle: InFlight = { abort: () => socket.destroy(), ...unlinked() };
  const end = (outcome: Outcome) => {
    if (!open) return;
    open = false;
    pool.release(server, handle, outcome);
  };
  pool.acquire(server, handle);
  server.stats.started(Date.now());
  socket.once('close', () => end('ok'));
  const options: TunnelOptions = {
    target: server.target as unknown as httpProxy.ProxyTargetUrl,
    agent: forwarder.agentFor(pool, server),
    changeOrigin: pool.config.changeOrigin,
    secure: pool.config.tls.rejectUnauthorized !== false,
    setCookie,
  };
  forwarder.proxy.ws(req, socket, head, options, (error) => {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    end(code === 'ECONNREFUSED' ? 'connect' : 'reset');
    refuse(socket, 502, 'Bad Gateway');
  });
}

/** Answer an upgrade request with a plain HTTP error and close the socket. */
export function refuse(socket: Duplex, status: number, text: string, extra = ''): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
  socket.destroy();
}
