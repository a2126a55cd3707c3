/**
 * One error family with stable codes, and one table from code to HTTP status.
 * Codes are part of the public contract: match on `err.code`, never on messages.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONTROL_INVALID'
  | 'NO_ELIGIBLE_SERVER'
  | 'UPSTREAM_CONNECT_FAILED'
  | 'UPSTREAM_CONNECT_TIMEOUT'
  | 'UPSTREAM_RESPONSE_TIMEOUT'
  | 'UPSTREAM_RESET'
  | 'CLIENT_ABORTED';

/** HTTP status a client sees for each failure (the only place this mapping lives). */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  CONFIG_INVALID: 500,
  CONTROL_INVALID: 400,
  NO_ELIGIBLE_SERVER: 503,
  UPSTREAM_CONNECT_FAILED: 502,
  UPSTREAM_CONNECT_TIMEOUT: 504,
  UPSTREAM_RESPONSE_TIMEOUT: 504,
  UPSTREAM_RESET: 502,
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

/** A bad run-time control call (unknown pool or server, negative weight, duplicate id). */
export class ControlError extends SwitchyardError {
  readonly notFound: boolean;
  constructor(message: string, { notFound = false }: { notFound?: boolean } = {}) {
    super('CONTROL_INVALID', message);
    this.notFound = notFound;
  }
}

/** A request that could not be forwarded; `status` is what the client was sent. */
export class UpstreamError extends SwitchyardError {}
