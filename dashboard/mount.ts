import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KoaMiddleware } from '../middleware/adapters/koa.js';
import { sendError, setSecurityHeaders, HttpError } from './http.js';

/** The dashboard's router as plain node:http code calls it. */
export type Handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

type Mountable = IncomingMessage & { baseUrl?: string; originalUrl?: string };

/**
 * Koa: `app.use(dashboard.koa('/admin'))`. Requests under the mount path go to the router with
 * `ctx.respond = false` (it writes the response itself); the rest, and paths the dashboard does
 * not know, go on down Koa's chain.
 */
export function koaMount(handler: Handler, mountPath: string): KoaMiddleware {
  const base = normalizeMount(mountPath);
  return (ctx, next) => {
    const req = ctx.req as Mountable;
    const url = req.url ?? '/';
    const rest = below(url, base);
    if (rest === undefined) return next();
    ctx.respond = false;
    return new Promise((resolve, reject) => {
      const saved = { url: req.url, baseUrl: req.baseUrl, originalUrl: req.originalUrl };
      const settle = () => {
        ctx.res.off('finish', settle).off('close', settle);
        // middleware above the mount sees the URL it saw before (koa-mount does the same)
        Object.assign(req, saved);
        resolve(undefined);
      };
      // resolve when the dashboard has answered; an event stream answers only when it closes
      ctx.res.once('finish', settle).once('close', settle);
      req.url = rest;
      req.baseUrl = base;
      req.originalUrl = url;
      handler(req, ctx.res, (error) => {
        ctx.res.off('finish', settle).off('close', settle);
        Object.assign(req, saved);
        ctx.respond = true;
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else next().then(resolve, reject);
      });
    });
  };
}

/**
 * Its own HTTP server, e.g. an admin port only reachable from the machine itself:
 * `await dashboard.listen(9901)` binds 127.0.0.1 unless told otherwise.
 */
export async function listenOn(handler: Handler, port: number, host: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    handler(req, res, (error) => {
      setSecurityHeaders(res);
      sendError(res, error ? error : new HttpError(404, `no dashboard route ${req.method} ${req.url}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** '/admin/' → '/admin'; '/' → ''. */
function normalizeMount(mountPath: string): string {
  if (!mountPath.startsWith('/')) throw new TypeError(`dashboard.koa(mountPath): expected a path starting with "/", got "${mountPath}"`);
  return mountPath.replace(/\/+$/, '');
}

/** The URL below `base` ('/x' for '/admin/x'), or undefined when it is not under it. */
function below(url: string, base: string): string | undefined {
  if (base === '') return url;
  if (!url.startsWith(base)) return undefined;
  const rest = url.slice(base.length);
  if (rest === '') return '/';
  if (rest.startsWith('/')) return rest;
  if (rest.startsWith('?')) return `/${rest}`;
  return undefined; // '/adminx' is not under '/admin'
}
