export { createBalancer } from './create.js';
export type { Balancer, BalancerSnapshot, PoolControl } from './balancer.js';
export type {
  BalancerOptions, PoolOptions, ServerOptions, RouteOptions, HealthCheckOptions, PassiveHealthOptions,
  StickyOptions, TimeoutOptions, TlsOptions,
} from './options.js';
export type { Algorithm, AlgorithmName, Candidate, PickContext } from './algorithms/algorithm.js';
export type { AffinityStore, Awaitable } from './affinity/store.js';
export { MemoryAffinityStore, type MemoryAffinityStoreOptions } from './affinity/memory-store.js';
export { RedisAffinityStore, type RedisAffinityStoreOptions } from './affinity/redis-store.js';
export type { ChangeEvent, DrainResult } from './pool/events.js';
export type { PoolSnapshot } from './pool/pool.js';
export type { ServerSnapshot, AdminState, Health } from './pool/server.js';
export type { Logger } from './logger.js';
export { SwitchyardError, ConfigError, ControlError, UpstreamError, STATUS_BY_CODE, type ErrorCode } from './errors.js';
export { createDashboard, type Dashboard, type DashboardOptions, type AuthorizeResult, type AuditEntry, type AuditAction } from '../dashboard/index.js';
