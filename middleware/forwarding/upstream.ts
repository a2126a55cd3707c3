import http, { type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Server } from '../pool/server.js';
import { serverOrigins } from './passes/origin.js';

/** How to open a request to one server: worked out once per server, used for every request. */
export interface Upstream {
  readonly request: typeof http.request;
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  readonly agent: http.Agent;
  /** For a retry that must not reuse a pooled socket. */
  readonly freshAgent: http.Agent;
  /** The server URL's base path, prefixed to every request's path. */
  readonly basePath: string;
  /** The Host header to send with `changeOrigin`; undefined keeps the client's. */
  readonly hostHeader: string | undefined;
  /** The origins the server may name itself by in a Location (see passes/origin.ts). */
  readonly origins: readonly string[];
}

export function upstreamOf(server: Server, agent: http.Agent, freshAgent: http.Agent, changeOrigin: boolean): Upstream {
  const { protocol, hostname, port, path } = server.target;
  const defaultPort = protocol === 'https:' ? '443' : '80';
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const hostHeader = changeOrigin ? (port === defaultPort ? host : `${host}:${port}`) : undefined;
  return {
    request: protocol === 'https:' ? https.request : http.request,
    protocol,
    hostname,
    port: Number(port),
    agent,
    freshAgent,
    basePath: path,
    hostHeader,
    origins: serverOrigins(server.target, hostHeader),
  };
}

/**
 * Open the request to the server. `headers` are the client's, already through the request
 * passes; Node copies them into the request, so they are not shared. TLS settings
 * (verification, a private CA) live on the pool's https agents.
 */
export function openUpstreamRequest(upstream: Upstream, method: string, url: string, headers: IncomingHttpHeaders, fresh: boolean): ClientRequest {
  if (upstream.hostHeader !== undefined) headers.host = upstream.hostHeader;
  return upstream.request({
    protocol: upstream.protocol,
    hostname: upstream.hostname,
    port: upstream.port,
    agent: fresh ? upstream.freshAgent : upstream.agent,
    method,
    path: upstream.basePath + url,
    headers,
  });
}
