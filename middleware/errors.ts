/**
 * One error family with stable codes, and one table from code to HTTP status.
 * Codes are part of the public contract: match on `err.code`, never on messages.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONTROL_INVALID'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'STORE_UNAVAILABLE'
  | 'NO_ELIGIBLE_SERVER'
  | 'QUEUE_FULL'
  | 'QUEUE_TIMEOUT'
  | 'SHUTTING_DOWN'
  | 'LOOP_DETECTED'
  | 'BODY_ALREADY_CONSUMED'
  | 'CALLBACK_FAILED'
  | 'UPSTREAM_CONNECT_FAILED'
  | 'UPSTREAM_CONNECT_TIMEOUT'
  | 'UPSTREAM_RESPONSE_TIMEOUT'
  | 'UPSTREAM_RESET'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'CLIENT_ABORTED';

/** HTTP status a client sees for each failure (the only place this mapping lives). */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  CONFIG_INVALID: 500,
  CONTROL_INVALID: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  STORE_UNAVAILABLE: 503,
  NO_ELIGIBLE_SERVER: 503,
  // HAProxy answers a full or expired queue with 503 too: the servers are busy, not broken
  QUEUE_FULL: 503,
  QUEUE_TIMEOUT: 503,
  SHUTTING_DOWN: 503,
  LOOP_DETECTED: 508,
  // the request itself cannot be forwarded as it stands: no server is to blame
  BODY_ALREADY_CONSUMED: 500,
  CALLBACK_FAILED: 502,
  UPSTREAM_CONNECT_FAILED: 502,
  UPSTREAM_CONNECT_TIMEOUT: 504,
  UPSTREAM_RESPONSE_TIMEOUT: 504,
  UPSTREAM_RESET: 502,
  UPSTREAM_BAD_RESPONSE: 502,
  // nginx's non-standard 499: nobody reads it, but logs and stats can tell it apart.
  CLIENT_ABORTED: 499,
});

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

/** A bad option given to `createBalancer` or `createDashboard`; `path` names it. */
export class ConfigError extends SwitchyardError {
  readonly path: string;
  constructor(path: string, expected: string) {
    super('CONFIG_INVALID', `${path}: ${expected}`);
    this.path = path;
  }
}

export type ControlErrorCode = 'CONTROL_INVALID' | 'NOT_FOUND' | 'CONFLICT' | 'STORE_UNAVAILABLE';

/**
 * A run-time control call that changed nothing: a bad argument (`CONTROL_INVALID`), an unknown
 * pool or server (`NOT_FOUND`), a concurrent change that won (`CONFLICT`, with the record as it
 * now stands in `current`), or a shared control store that cannot be reached (`STORE_UNAVAILABLE`).
 */
export class ControlError extends SwitchyardError {
  declare readonly code: ControlErrorCode;
  /** With `CONFLICT`: the record as the winning change left it (null when it was removed). */
  readonly current: unknown;
  constructor(message: string, { code = 'CONTROL_INVALID', current }: { code?: ControlErrorCode; current?: unknown } = {}) {
    super(code, message);
    this.current = current;
  }

  /** True for an unknown pool or server (the dashboard answers 404). */
  get notFound(): boolean {
    return this.code === 'NOT_FOUND';
  }
}

/**
 * A request that could not be forwarded, as the error hook and `next(err)` receive it. `status`
 * is what the client is sent; `pool` names the pool; no server address is ever part of it, so
 * it is safe to render.
 */
export class UpstreamError extends SwitchyardError {
  readonly pool: string | undefined;
  /** The server's id (not its address) when one was tried. */
  readonly server: string | undefined;
  constructor(code: ErrorCode, message: string, { pool, server, cause }: { pool?: string; server?: string; cause?: unknown } = {}) {
    super(code, message, { cause });
    this.pool = pool;
    this.server = server;
  }

  /** `expose` tells Koa and Express error handlers the message is safe to show. */
  get expose(): boolean {
    return true;
  }
}
