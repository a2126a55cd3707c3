import type { Balancer, PoolControl } from '../middleware/balancer.js';
import { ControlError } from '../middleware/errors.js';
import type { Logger } from '../middleware/logger.js';
import type { ServerOptions } from '../middleware/options.js';
import type { ServerSnapshot } from '../middleware/pool/server.js';
import type { AuditAction, AuditLog } from './audit.js';
import type { Body } from './body.js';
import { HttpError } from './http.js';

/** Who asked: the authenticated user and the client's address, for the audit log. */
export interface Actor {
  user: string;
  address: string;
}

/** What a drain or a removal answers at once: it goes on in the background. */
export interface Started {
  server: ServerSnapshot;
  /** Epoch ms at which what is still in flight gets closed. */
  deadline: number;
  inFlight: number;
}

/**
 * The operator actions, shared by the JSON API and the page's forms. Each validates its input,
 * goes through the pool's public control API only, and writes one audit entry when it changed
 * something. Bad input throws an HttpError (404 unknown pool or server, 400 anything else).
 */
export class Actions {
  readonly #balancer: Balancer;
  readonly #audit: AuditLog;
  readonly #logger: Logger;

  constructor(balancer: Balancer, audit: AuditLog, logger: Logger) {
    this.#balancer = balancer;
    this.#audit = audit;
    this.#logger = logger;
  }

  setWeight(actor: Actor, poolName: string, id: string, body: Body): ServerSnapshot {
    const { pool, server } = this.#find(poolName, id);
    const weight = numberField(body.weight, 'weight', true);
    control(() => pool.setWeight(id, weight));
    return this.#done(actor, 'weight', pool, server, server.weight, weight);
  }

  enable(actor: Actor, poolName: string, id: string): ServerSnapshot {
    const { pool, server } = this.#find(poolName, id);
    control(() => pool.enable(id));
    return this.#done(actor, 'enable', pool, server, server.state, 'active');
  }

  disable(actor: Actor, poolName: string, id: string): ServerSnapshot {
    const { pool, server } = this.#find(poolName, id);
    control(() => pool.disable(id));
    return this.#done(actor, 'disable', pool, server, server.state, 'disabled');
  }

  /** Start a drain and answer at once; the drain itself can take up to the pool's drainTimeoutMs. */
  drain(actor: Actor, poolName: string, id: string, body: Body): Started {
    const { pool, server } = this.#find(poolName, id);
    const timeoutMs = body.timeoutMs === undefined ? undefined : numberField(body.timeoutMs, 'timeoutMs', false);
    const drained = control(() => pool.drain(id, timeoutMs));
    drained.catch((error: unknown) => this.#logger.error('dashboard: drain failed', { pool: poolName, server: id, error }));
    const after = this.#done(actor, 'drain', pool, server, server.state, 'draining');
    return { server: after, deadline: after.drainDeadline ?? Date.now(), inFlight: after.active };
  }

  add(actor: Actor, poolName: string, body: Body): ServerSnapshot {
    const pool = this.#pool(poolName);
    if (typeof body.id !== 'string' || body.id === '') throw new HttpError(400, 'id: expected a non-empty string');
    if (typeof body.url !== 'string' || body.url === '') throw new HttpError(400, 'url: expected a URL like "http://10.0.0.5:8080"');
    const options: ServerOptions = { id: body.id, url: body.url };
    if (body.weight !== undefined) options.weight = numberField(body.weight, 'weight', true);
    if (body.backup !== undefined) {
      if (typeof body.backup !== 'boolean') throw new HttpError(400, 'backup: expected true or false');
      options.backup = body.backup;
    }
    control(() => pool.addServer(options));
    const server = this.#server(pool, options.id);
    this.#audit.record({ ...actor, action: 'add', pool: pool.name, server: server.id, before: null, after: { url: server.url, weight: server.weight, backup: server.backup } });
    return server;
  }

  /** Drain, then remove: answers at once, the server disappears from snapshots when drained. */
  remove(actor: Actor, poolName: string, id: string): Started {
    const { pool, server } = this.#find(poolName, id);
    pool.removeServer(id).catch((error: unknown) => this.#logger.error('dashboard: remove failed', { pool: poolName, server: id, error }));
    this.#audit.record({ ...actor, action: 'remove', pool: pool.name, server: id, before: { state: server.state, url: server.url, weight: server.weight }, after: null });
    const after = this.#server(pool, id, server);
    return { server: after, deadline: after.drainDeadline ?? Date.now(), inFlight: after.active };
  }

  #pool(name: string): PoolControl {
    return control(() => this.#balancer.pool(name));
  }

  #find(poolName: string, id: string): { pool: PoolControl; server: ServerSnapshot } {
    const pool = this.#pool(poolName);
    return { pool, server: this.#server(pool, id) };
  }

  /** A server's snapshot; `fallback` when it is already gone (removed at once when idle). */
  #server(pool: PoolControl, id: string, fallback?: ServerSnapshot): ServerSnapshot {
    const server = pool.snapshot().servers.find((candidate) => candidate.id === id) ?? fallback;
    if (!server) throw new HttpError(404, `no server "${id}" in pool "${pool.name}"`);
    return server;
  }

  #done(actor: Actor, action: AuditAction, pool: PoolControl, before: ServerSnapshot, beforeValue: unknown, afterValue: unknown): ServerSnapshot {
    this.#audit.record({ ...actor, action, pool: pool.name, server: before.id, before: beforeValue, after: afterValue });
    return this.#server(pool, before.id, before);
  }
}

/** Run a control call, turning its ControlError into the HTTP answer. */
function control<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof ControlError) throw new HttpError(error.notFound ? 404 : 400, error.message);
    throw error;
  }
}

/** A JSON number ≥ 0 (forms' strings are turned into numbers before this, see formFields). */
function numberField(value: unknown, name: string, allowFraction: boolean): number {
  const number = typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(number) || number < 0 || (!allowFraction && !Number.isInteger(number))) {
    throw new HttpError(400, `${name}: expected a number >= 0, got ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return number;
}
