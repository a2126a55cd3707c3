import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import type { KoaMiddleware } from '../middleware/adapters/koa.js';
import type { Balancer } from '../middleware/balancer.js';
import { ConfigError } from '../middleware/errors.js';
import { safeLogger } from '../middleware/logger.js';
import { Actions } from './actions.js';
import { mountApi } from './api.js';
import { RolloutActions } from './rollout-actions.js';
import { mountRolloutApi } from './rollout-api.js';
import { AuditLog } from './audit.js';
import { authenticate, userOf } from './auth.js';
import { csrfGuard } from './csrf-guard.js';
import { CsrfTokens } from './csrf.js';
import { AUDIT_ON_PAGE, EventHub } from './events.js';
import { History } from './history.js';
import { HttpError, pathOf, pathOfUrl, redirect, sendError, sendText, setSecurityHeaders } from './http.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { koaMount, listenOn, type Handler } from './mount.js';
import { normalizeDashboardOptions, withTrustedAddress, type DashboardOptions } from './options.js';
import { assetDirs } from './package-root.js';
import { renderPage } from './render.js';
import { loadAssets } from './static.js';
import { dashboardView } from './view-model.js';
import { fleetView } from './fleet-view.js';

/** The router `createDashboard` returns, with ways to mount it outside Express. */
export interface Dashboard extends Router {
  /** Koa: `app.use(dashboard.koa('/admin'))`. */
  koa(mountPath?: string): KoaMiddleware;
  /** Serve it alone on its own port, bound to 127.0.0.1 unless `host` says otherwise. */
  listen(port?: number, host?: string): Promise<http.Server>;
  /** End the open live-update streams and stop updating. The router answers again on the next request. */
  close(): void;
  /** The balancer's audit log (`recent()` is what `GET api/audit` answers). */
  readonly audit: AuditLog;
}

/** Trend points kept per server: a minute at the default update interval. */
const TREND_SAMPLES = 60;

/**
 * The operator dashboard: an overview page with live updates, server actions, an audit log, a
 * JSON API and Prometheus metrics, as an Express Router that works at any mount path.
 * Authentication is required (basic auth or an `authorize` hook) unless `insecure: true`.
 *
 * @example
 * app.use('/admin', createDashboard(balancer, { auth: { username: 'ops', password: process.env.DASHBOARD_PASSWORD! } }));
 * koaApp.use(dashboard.koa('/admin'));
 * await dashboard.listen(9901); // http://127.0.0.1:9901/
 */
export function createDashboard(balancer: Balancer, options?: DashboardOptions): Dashboard {
  if (typeof balancer?.snapshot !== 'function' || typeof balancer.pool !== 'function') {
    throw new ConfigError('balancer', 'expected the balancer that createBalancer() returned');
  }
  const config = withTrustedAddress(normalizeDashboardOptions(options), (req) => balancer.clientAddress(req));
  const logger = config.logger ? safeLogger(config.logger) : balancer.config.logger;
  const dirs = assetDirs();
  const assets = loadAssets(dirs.public);
  const history = new History(TREND_SAMPLES);
  const csrf = new CsrfTokens();
  // the core's audit log records every change; a new entry is pushed to open dashboards at once
  const audit = balancer.audit;
  const hub = new EventHub(balancer, audit, history, { intervalMs: config.updateIntervalMs, maxStreams: config.maxStreams });
  const unsubscribe = audit.subscribe((entry) => {
    hub.nudge();
    if (!config.onAudit) return;
    try {
      config.onAudit(entry);
    } catch (error) {
      logger.error('dashboard: onAudit threw', { error: String(error) });
    }
  });
  const actions = new Actions(balancer, logger);

  const router = Router() as Dashboard;
  router.use((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
    // paths that are not the dashboard's pass by untouched, unauthenticated: it may be mounted at "/"
    if (!isDashboardPath(pathOf(req))) return next('router');
    setSecurityHeaders(res);
    next();
  });
  router.use(authenticate(config));
  router.use(csrfGuard(csrf, config.bodyLimit));

  router.get('/', async (req: IncomingMessage, res: ServerResponse) => {
    // relative links need the page's URL to end in "/": /admin → /admin/
    const original = pathOfUrl((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/');
    if (!original.endsWith('/')) return redirect(res, `${original.slice(original.lastIndexOf('/') + 1)}/`);
    const user = userOf(req);
    const view = dashboardView(balancer.snapshot(), history, audit.recent(AUDIT_ON_PAGE), audit.seq, fleetView(balancer));
    const html = await renderPage(dirs.views, { title: config.title, user, csrfToken: csrf.tokenFor(user), view });
    sendText(res, 200, 'text/html; charset=utf-8', html);
  });
  router.get('/static/:file', (req: IncomingMessage & { params?: Record<string, string> }, res: ServerResponse) => {
    const asset = assets.get(req.params?.file ?? '');
    if (!asset) return sendError(res, new HttpError(404, 'no such file'));
    res.setHeader('Cache-Control', 'no-cache');
    sendText(res, 200, asset.type, asset.body);
  });
  router.get('/events', (req: IncomingMessage, res: ServerResponse) => hub.open(req, res));
  router.get('/metrics', (req: IncomingMessage, res: ServerResponse) => sendText(res, 200, METRICS_CONTENT_TYPE, renderMetrics(balancer.snapshot())));
  const actor = (req: IncomingMessage) => ({ user: userOf(req), address: config.clientAddress(req) });
  // before the API's catch-all 404
  mountRolloutApi(router, { balancer, rollouts: new RolloutActions(balancer), bodyLimit: config.bodyLimit, actor });
  mountApi(router, {
    balancer,
    actions,
    audit,
    bodyLimit: config.bodyLimit,
    auditSize: config.auditSize,
    actor,
  });
  router.use((req: IncomingMessage, res: ServerResponse) => sendError(res, new HttpError(404, `no dashboard route ${req.method} ${pathOf(req)}`)));
  router.use((error: unknown, req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
    if (!(error instanceof HttpError)) logger.error('dashboard: request failed', { method: req.method, url: req.url, error });
    sendError(res, error);
  });

  const handler = router as unknown as Handler;
  return Object.assign(router, {
    koa: (mountPath = '/') => koaMount(handler, mountPath),
    listen: (port = 0, host = '127.0.0.1') => listenOn(handler, port, host),
    close: () => {
      hub.close();
      unsubscribe();
    },
    audit,
  });
}

const ROOTS = new Set(['', '/', '/events', '/metrics', '/api']);

function isDashboardPath(path: string): boolean {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return ROOTS.has(trimmed) || path.startsWith('/api/') || path.startsWith('/static/');
}
