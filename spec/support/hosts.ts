import http from 'node:http';
import express from 'express';
import Koa from 'koa';
import type { Balancer } from '../../middleware/index.js';
import { listen } from './backends.js';

/** The three ways an app mounts a balancer; every routing/forwarding spec runs against each. */
export const FLAVOURS = ['express', 'koa', 'wrap'] as const;
export type Flavour = (typeof FLAVOURS)[number];

export interface Host {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/**
 * A real host app on an ephemeral port with the balancer mounted. Unrouted requests reach
 * the app's own handler, which reads the body itself and answers `{ host: flavour, body }`.
 */
export async function startHost(flavour: Flavour, balancer: Balancer): Promise<Host> {
  let handler: http.RequestListener;
  if (flavour === 'koa') {
    const app = new Koa();
    app.use(balancer.koa());
    app.use(async (ctx) => {
      ctx.body = { host: flavour, path: ctx.path, body: await readText(ctx.req) };
    });
    handler = app.callback();
  } else {
    const app = express();
    if (flavour === 'express') app.use(balancer.express());
    app.use(express.text({ type: '*/*' }));
    app.use((req, res) => {
      res.json({ host: flavour, path: req.path, body: typeof req.body === 'string' ? req.body : '' });
    });
    handler = flavour === 'wrap' ? balancer.wrap(app) : app;
  }
  const host = await listen(handler);
  balancer.attach(host.server);
  return host;
}

function readText(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * A request with the path sent exactly as given (no client-side normalisation of `..`),
 * on a fresh connection unless an agent is passed.
 */
export function send(
  base: string,
  path: string,
  { method = 'GET', headers = {}, body, agent }: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
