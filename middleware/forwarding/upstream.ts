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
  /** The server's own `host[:port]`, for a client that sent no Host (HTTP/1.0). */
  readonly serverHost: string;
  /** The origins the server may name itself by in a Location (see passes/origin.ts). */
  readonly origins: readonly string[];
}

export function upstreamOf(server: Server, agent: http.Agent, freshAgent: http.Agent, changeOrigin: boolean): Upstream {
  const { protocol, hostname, port, path } = server.target;
  const defaultPort = protocol === 'https:' ? '443' : '80';
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const serverHost = port === defaultPort || port === '' ? host : `${host}:${port}`;
  const hostHeader = changeOrigin ? serverHost : undefined;
  return {
    request: protocol === 'https:' ? https.request : http.request,
    protocol,
    hostname,
    port: Number(port),
    agent,
    freshAgent,
    basePath: path,
    hostHeader,
    serverHost,
    origins: serverOrigins(server.target, hostHeader),
  };
}

/**
 * Open the request to the server. `headers` are the client's, already through the request
 * passes. TLS settings (verification, a private CA) live on the pool's https agents.
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
    headers: headerList(headers, upstream.serverHost),
  });
}

/**
 * The headers as a flat `[name, value, …]` list, which Node writes out as it is (still
 * validated) instead of passing each through `setHeader`: a few µs less per request. Node adds
 * no Host to a list, so a client without one gets the server's, as Node would have given it.
 */
function headerList(headers: IncomingHttpHeaders, serverHost: string): string[] {
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') list.push(name, value);
    else if (value !== undefined) for (const item of value) list.push(name, item);
  }
  if (headers.host === undefined) list.push('host', serverHost);
  return list;
}
