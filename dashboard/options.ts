import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../middleware/errors.js';
import type { Logger } from '../middleware/logger.js';
import { describe, knownKeys, optionalBoolean, optionalNumber, plainObject, requiredString } from '../middleware/validate.js';
import type { AuditEntry } from './audit.js';
import type { ApiToken } from './tokens.js';

/** What an `authorize` hook answers: a user name, `true` (allowed, unnamed) or a refusal. */
export type AuthorizeResult = string | boolean | null | undefined;

/** Options of {@link createDashboard}. Every default is written in `normalizeDashboardOptions`. */
export interface DashboardOptions {
  /**
   * HTTP basic auth. The user name is what the audit log records. `tokens`: bearer tokens for
   * machine clients of `api/` (a deploy job), each at least 32 characters; its `name` is the
   * user the audit log records, and it needs no CSRF token. Never accepted for the page.
   */
  auth?: { username: string; password: string; tokens?: ApiToken[] };
  /**
   * Decide per request (sync or async): a user name or `true` lets it in, anything else is a
   * failed login. With `auth` too, both must pass and a returned name wins.
   */
  authorize?: (req: IncomingMessage) => AuthorizeResult | Promise<AuthorizeResult>;
  /** Serve without authentication. Never the default: it must be given explicitly. */
  insecure?: boolean;
  /** Failed logins allowed per client address in a window before answering 429. Default 10 a minute. */
  loginLimit?: { max?: number; windowMs?: number };
  /** The address failed logins are counted by. Default the socket's peer address. */
  clientAddress?: (req: IncomingMessage) => string;
  /** Entries of the balancer's audit log that `GET api/audit` answers, newest first. Default 500. */
  auditSize?: number;
  /** Called with every audit entry, e.g. to keep it somewhere durable. */
  onAudit?: (entry: AuditEntry) => void;
  /** Largest request body accepted, in bytes; past it 413. Default 16 KiB. */
  bodyLimit?: number;
  /** How often open dashboards get a fresh snapshot. Default 1000 ms. */
  updateIntervalMs?: number;
  /** Most live-update streams open at once; past it 503. Default 100. */
  maxStreams?: number;
  /** Shown in the page's title and heading. Default "switchyard". */
  title?: string;
  /** Where failures of background work (a drain started over the API) go. Default the balancer's logger. */
  logger?: Logger;
}

export interface DashboardConfig {
  auth: { username: string; password: string } | null;
  /** Bearer tokens for `api/`; empty without any. */
  tokens: readonly ApiToken[];
  authorize: ((req: IncomingMessage) => AuthorizeResult | Promise<AuthorizeResult>) | null;
  insecure: boolean;
  loginLimit: { max: number; windowMs: number };
  clientAddress: (req: IncomingMessage) => string;
  auditSize: number;
  onAudit: ((entry: AuditEntry) => void) | null;
  bodyLimit: number;
  updateIntervalMs: number;
  maxStreams: number;
  title: string;
  logger: Logger | null;
}

const DEFAULTS = {
  // 10 a minute stops guessing yet forgives a few typos
  loginLimit: { max: 10, windowMs: 60_000 },
  auditSize: 500,
  // control requests are a few dozen bytes; a cap keeps a client from filling memory
  bodyLimit: 16 * 1024,
  updateIntervalMs: 1000,
  maxStreams: 100,
  title: 'switchyard',
} as const;

/** NIST SP 800-63B asks for at least 8; a shared operator password deserves more. */
const MIN_PASSWORD_LENGTH = 12;
/** A token is never typed by a person: 32 characters of `openssl rand -hex 16` or more, beyond guessing. */
const MIN_TOKEN_LENGTH = 32;
const EXAMPLE = "{ auth: { username: 'ops', password: process.env.DASHBOARD_PASSWORD } }";

/** Check the options once and fill in every default; throws ConfigError naming the option. */
export function normalizeDashboardOptions(input: unknown): DashboardConfig {
  const options = plainObject(input ?? {}, 'dashboard', EXAMPLE);
  knownKeys(options, 'dashboard', [
    'auth', 'authorize', 'insecure', 'loginLimit', 'clientAddress', 'auditSize', 'onAudit', 'bodyLimit',
    'updateIntervalMs', 'maxStreams', 'title', 'logger',
  ]);
  const { auth, tokens } = options.auth === undefined ? { auth: null, tokens: [] } : checkAuth(options.auth);
  const authorize = optionalFunction(options.authorize, 'dashboard.authorize') as DashboardConfig['authorize'];
  const insecure = optionalBoolean(options.insecure, 'dashboard.insecure', false);
  if (!auth && !authorize && !insecure) {
    throw new ConfigError('dashboard.auth', `the dashboard changes live traffic, so it needs authentication: give ${EXAMPLE}, an authorize(req) hook, or insecure: true to serve it without`);
  }
  const limit = options.loginLimit === undefined ? {} : plainObject(options.loginLimit, 'dashboard.loginLimit', '{ max: 10, windowMs: 60000 }');
  knownKeys(limit, 'dashboard.loginLimit', ['max', 'windowMs']);
  return {
    auth,
    tokens,
    authorize,
    insecure,
    loginLimit: {
      max: optionalNumber(limit.max, 'dashboard.loginLimit.max', DEFAULTS.loginLimit.max, { min: 1, integer: true }),
      windowMs: optionalNumber(limit.windowMs, 'dashboard.loginLimit.windowMs', DEFAULTS.loginLimit.windowMs, { min: 1000 }),
    },
    clientAddress: (optionalFunction(options.clientAddress, 'dashboard.clientAddress') as DashboardConfig['clientAddress'] | null) ?? defaultClientAddress,
    auditSize: optionalNumber(options.auditSize, 'dashboard.auditSize', DEFAULTS.auditSize, { min: 1, max: 100_000, integer: true }),
    onAudit: optionalFunction(options.onAudit, 'dashboard.onAudit') as DashboardConfig['onAudit'],
    bodyLimit: optionalNumber(options.bodyLimit, 'dashboard.bodyLimit', DEFAULTS.bodyLimit, { min: 256, max: 1024 * 1024, integer: true }),
    updateIntervalMs: optionalNumber(options.updateIntervalMs, 'dashboard.updateIntervalMs', DEFAULTS.updateIntervalMs, { min: 100, max: 60_000 }),
    maxStreams: optionalNumber(options.maxStreams, 'dashboard.maxStreams', DEFAULTS.maxStreams, { min: 1, integer: true }),
    title: options.title === undefined ? DEFAULTS.title : requiredString(options.title, 'dashboard.title', "'switchyard (eu-west)'"),
    logger: options.logger === undefined ? null : checkLogger(options.logger),
  };
}

function checkAuth(value: unknown): { auth: { username: string; password: string }; tokens: readonly ApiToken[] } {
  const auth = plainObject(value, 'dashboard.auth', "{ username: 'ops', password: '…' }");
  knownKeys(auth, 'dashboard.auth', ['username', 'password', 'tokens']);
  const username = requiredString(auth.username, 'dashboard.auth.username', "'ops'");
  // basic auth cannot carry a colon in the user name: it separates name from password
  if (username.includes(':')) throw new ConfigError('dashboard.auth.username', 'expected a name without ":" (basic auth splits on it)');
  const password = requiredString(auth.password, 'dashboard.auth.password', 'process.env.DASHBOARD_PASSWORD');
  // the dashboard can drain and remove servers: a guessable password is an outage waiting to happen
  if (password.length < MIN_PASSWORD_LENGTH) throw new ConfigError('dashboard.auth.password', `expected at least ${MIN_PASSWORD_LENGTH} characters, got ${password.length}; e.g. process.env.DASHBOARD_PASSWORD set to \`openssl rand -base64 18\``);
  return { auth: { username, password }, tokens: checkTokens(auth.tokens) };
}

const TOKEN_EXAMPLE = "[{ name: 'deploy-bot', token: process.env.DEPLOY_TOKEN }]";

function checkTokens(value: unknown): readonly ApiToken[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError('dashboard.auth.tokens', `expected an array like ${TOKEN_EXAMPLE}, got ${describe(value)}`);
  const names = new Set<string>();
  const secrets = new Set<string>();
  const tokens = value.map((entry: unknown, i): ApiToken => {
    const path = `dashboard.auth.tokens[${i}]`;
    const object = plainObject(entry, path, "{ name: 'deploy-bot', token: process.env.DEPLOY_TOKEN }");
    knownKeys(object, path, ['name', 'token']);
    const name = requiredString(object.name, `${path}.name`, "'deploy-bot'");
    // the audit log tells clients apart by name
    if (names.has(name)) throw new ConfigError(`${path}.name`, `expected a name no other token has, got "${name}" twice`);
    const token = object.token;
    // never echo the token: the message may end up in a log
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) {
      const got = typeof token === 'string' ? `${token.length} characters` : describe(token);
      throw new ConfigError(`${path}.token`, `expected a string of at least ${MIN_TOKEN_LENGTH} characters, got ${got}; e.g. process.env.DEPLOY_TOKEN set to \`openssl rand -hex 32\``);
    }
    if (secrets.has(token)) throw new ConfigError(`${path}.token`, 'expected a token no other entry has: each client gets its own, so the audit log can tell them apart');
    names.add(name);
    secrets.add(token);
    return Object.freeze({ name, token });
  });
  return Object.freeze(tokens);
}

function optionalFunction(value: unknown, path: string): ((...args: never[]) => unknown) | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') throw new ConfigError(path, `expected a function, got ${describe(value)}`);
  return value as (...args: never[]) => unknown;
}

function checkLogger(value: unknown): Logger {
  const logger = plainObject(value, 'dashboard.logger', '{ warn() {}, error() {} }');
  if (typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    throw new ConfigError('dashboard.logger', 'expected an object with warn() and error() methods');
  }
  return logger as unknown as Logger;
}

function socketAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Placeholder until `createDashboard` knows the balancer: see `withTrustedAddress`. */
const defaultClientAddress = socketAddress;

/**
 * Without a `clientAddress` option, the client is whom the balancer's `trustProxy` believes
 * (the X-Forwarded-For hop it trusts), so that users behind one trusted proxy are told apart.
 */
export function withTrustedAddress(config: DashboardConfig, trusted: ((req: IncomingMessage) => string) | undefined): DashboardConfig {
  if (config.clientAddress !== defaultClientAddress || trusted === undefined) return config;
  return { ...config, clientAddress: trusted };
}
