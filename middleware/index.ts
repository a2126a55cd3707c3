export { createBalancer } from './create.js';
export type { Balancer, BalancerSnapshot, BalancerEvents } from './balancer.js';
export type { PoolControl, ControlCallOptions } from './control/pool-control.js';
export type {
  BalancerOptions, PoolOptions, ServerOptions, RouteOptions, HealthCheckOptions, PassiveHealthOptions,
  StickyOptions, TimeoutOptions, TlsOptions, QueueOptions, RetryOptions, RetryOn, ErrorRateOptions, ControlOptions, CheckContext, HashOptions, HashKey, PathRewrite, RequestIdOptions,
} from './options.js';
export type { Algorithm, AlgorithmName, Candidate, PickContext } from './algorithms/algorithm.js';
export type { TcpTimeoutOptions, TcpCheckOptions } from './options/types.js';
export type { ListenTcpOptions } from './tcp/frontend.js';
export type { TcpStatsSnapshot, CloseCause } from './tcp/tcp-stats.js';
export type { AffinityStore, Awaitable } from './affinity/store.js';
export { MemoryAffinityStore, type MemoryAffinityStoreOptions } from './affinity/memory-store.js';
export { RedisAffinityStore, type RedisAffinityStoreOptions, type RedisCommands } from './affinity/redis-store.js';
export { keepRawBody } from './forwarding/body.js';
export type { ChangeEvent, Commit, AppliedChange, ChangeOrigin, Actor } from './control/changes.js';
export type { ServerRecord, AdminState, DrainIntent } from './control/records.js';
export type { DrainResult } from './control/drain-waits.js';
export type { AuditEntry, AuditAction, AuditLog } from './control/audit.js';
export type { ControlStore, StoreContext, StoreListener, DrainReport, InstanceInfo } from './control/store.js';
export { MemoryControlStore } from './control/memory-store.js';
export { RedisControlStore } from './control/redis-store.js';
export type { RedisControlStoreOptions, RedisControlClient, HealthReport } from './control/redis-store.js';
export type { PoolSnapshot, HealthEvent, PanicEvent } from './pool/pool.js';
export type { QueueStats } from './pool/queue.js';
export type { ServerSnapshot, Health } from './pool/server.js';
export type { Logger, LogStyle } from './logger.js';
export type { Hooks, RequestHookContext, ResponseHookContext, ErrorHookContext, FinishRecord } from './hooks.js';
export { ResponseHeaders } from './hooks.js';
export { requestChannel } from './forwarding/finish.js';
export type { TrustProxy, Trust } from './forwarding/trust.js';
export type { ExpressAdapterOptions } from './adapters/express.js';
export type { HandleOptions } from './balancer.js';
export { SwitchyardError, ConfigError, ControlError, UpstreamError, STATUS_BY_CODE, type ErrorCode, type ControlErrorCode } from './errors.js';
export type { Rollout, RolloutActor, RolloutEvent, RolloutSnapshot, RolloutResult } from './rollout/rollout.js';
export type { RolloutPlan, RolloutStep, CanarySelector, CohortKey } from './rollout/plan.js';
export type { Verdict, VerdictKind, Rule, ArmSummary, AnalysisConfig, InsufficientAction } from './rollout/judge/index.js';
export type { HistoryPoint, RolloutStatus, TransitionType } from './rollout/engine.js';
