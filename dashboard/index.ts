export { createDashboard, type Dashboard } from './create.js';
export type { DashboardOptions, AuthorizeResult } from './options.js';
export type { AuditEntry, AuditAction, AuditLog } from './audit.js';
