/** The audit log lives in the core, so that changes made in code and on other instances are audited too. */
export { AuditLog, type AuditEntry, type AuditAction } from '../middleware/control/audit.js';
