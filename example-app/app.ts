import { randomBytes } from 'node:crypto';
import express from 'express';
import { createBalancer, type Balancer, type ControlStore } from '../middleware/index.js';
import { createDashboard, type Dashboard } from '../dashboard/index.js';
import { startDemoBackend, type DemoBackend } from './demo-backends.js';

export interface ExampleOptions {
  /** Dashboard password; a random one when not given (printed at start). */
  password?: string;
  /** Shared control state (`npm run start:cluster`): the store and this worker's id. */
  control?: { store: ControlStore; instanceId: string };
  /** Demo servers started elsewhere (by the cluster's primary), by id; none are started here then. */
  backendUrls?: Record<'api-1' | 'api-2' | 'static-1', string>;
}

export interface ExampleApp {
  app: express.Express;
  balancer: Balancer;
  dashboard: Dashboard;
  backends: DemoBackend[];
  credentials: { username: string; password: string };
  close(): Promise<void>;
}

/**
 * The example: three demo servers, a balancer sending /api to two of them (health-checked,
 * weighted, sticky) and /static to the third, mounted in an ordinary Express app that keeps
 * its own routes, with the operator dashboard at /admin.
 */
export async function createExampleApp({ password = randomBytes(9).toString('base64url'), control, backendUrls }: ExampleOptions = {}): Promise<ExampleApp> {
  const backends = backendUrls ? [] : await Promise.all([
    startDemoBackend('api-1', 'api'),
    startDemoBackend('api-2', 'api'),
    startDemoBackend('static-1', 'static'),
  ]);
  const [api1, api2, static1] = backendUrls
    ? (['api-1', 'api-2', 'static-1'] as const).map((id) => ({ id, url: backendUrls[id] }))
    : backends as [DemoBackend, DemoBackend, DemoBackend];

  const balancer = createBalancer({
    pools: {
      api: {
        algorithm: 'weighted-round-robin',
        healthCheck: { type: 'http', path: '/health', intervalMs: 2000, timeoutMs: 1000 },
        slowStartMs: 10_000,
        sticky: true,
        servers: [
          { id: api1.id, url: api1.url },
          { id: api2.id, url: api2.url },
        ],
      },
      static: { servers: [{ id: static1.id, url: static1.url }] },
    },
    routes: [
      { path: '/api', pool: 'api' },
      { path: '/static', pool: 'static', stripPrefix: '/static' },
    ],
    // a demo secret for a demo: a real app reads it from its environment
    sticky: { secret: process.env.AFFINITY_SECRET ?? randomBytes(24).toString('base64url') },
    ...(control && { control }),
  });

  const credentials = { username: 'ops', password };
  const dashboard = createDashboard(balancer, { auth: credentials });

  const app = express();
  // for Kubernetes: readiness fails while closing, and a scraper reads metrics without the dashboard's login
  app.get('/ready', balancer.ready());
  app.get('/metrics', balancer.metrics());
  app.use(balancer.express());
  app.use('/admin', dashboard);
  app.get('/', (req, res) => {
    res.type('text/plain').send('switchyard example: /api/hello (two servers, sticky), /static/logo.png (one server), /admin (the dashboard)\n');
  });

  return {
    app,
    balancer,
    dashboard,
    backends,
    credentials,
    close: async () => {
      dashboard.close();
      await balancer.close();
      await Promise.all(backends.map((backend) => backend.close()));
    },
  };
}
