import express from 'express';
import request from 'supertest';
import type { Balancer } from '../../middleware/index.js';
import { createDashboard, type Dashboard, type DashboardOptions } from '../../dashboard/index.js';
import { listen } from './backends.js';

export const DASHBOARD_USER = { username: 'ops', password: 'pa55word-long-enough' };
export const DASHBOARD_AUTH = `Basic ${Buffer.from(`${DASHBOARD_USER.username}:${DASHBOARD_USER.password}`).toString('base64')}`;

export interface DashboardHost {
  dashboard: Dashboard;
  host: Awaited<ReturnType<typeof listen>>;
  /** The signed-in operator's CSRF token, read off the page as a browser would. */
  token: string;
  /** A supertest agent signed in as the operator. */
  api(): ReturnType<typeof request.agent>;
  close(): Promise<void>;
}

/** An Express app with the dashboard at /admin (as DASHBOARD_USER) and the balancer after it, listening on a free port. */
export async function mountDashboard(balancer: Balancer, options: Omit<DashboardOptions, 'auth'> = {}): Promise<DashboardHost> {
  const dashboard = createDashboard(balancer, { ...options, auth: DASHBOARD_USER });
  const app = express();
  app.use('/admin', dashboard);
  app.use(balancer.express());
  const host = await listen(app);
  const api = () => request.agent(host.url).set('authorization', DASHBOARD_AUTH);
  const page = await api().get('/admin/').expect(200);
  const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.text)![1]!;
  return {
    dashboard, host, token, api,
    close: async () => {
      dashboard.close();
      await host.close();
    },
  };
}
