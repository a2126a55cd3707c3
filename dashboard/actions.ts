import type { Balancer } from '../middleware/balancer.js';
import type { Actor } from '../middleware/control/changes.js';
import type { DrainPromise, PoolControl } from '../middleware/control/pool-control.js';
import { ControlError } from '../middleware/errors.js';
import type { SafeLogger } from '../middleware/logger.js';
import type { ServerOptions } from '../middleware/options.js';
import type { ServerSnapshot } from '../middleware/pool/server.js';
import type { Body } from './body.js';
import { HttpError } from './http.js';

export type { Actor };

/** What a drain or a removal answers at once: it goes on in the background. */
export interface Started {
  server: ServerSnapshot;
  /** Epoch ms at which what is still in flight gets closed. */
  deadline: number;
  inFlight: number;
}

/**
 * The operator actions, shared by the JSON API and the page's forms. Each validates its input
 * and goes through the pool's public control API only, with the operator as the actor: the
 * core's audit log records it. Bad input throws an HttpError (404 unknown pool or server, 409 a
 * concurrent change won, 503 the shared control store is unreachable, 400 anything else).
 */
export class Actions {
  readonly #balancer: Balancer;
  readonly #logger: SafeLogger;

  constructor(balancer: Balancer, logger: SafeLogger) {
    this.#balancer = balancer;
    this.#logger = logger;
  }

  async setWeight(actor: Actor, poolName: string, id: string, body: Body): Promise<ServerSnapshot> {
    const pool = this.#pool(poolName);
    const weight = numberField(body.weight, 'weight', true);
    await control(() => pool.setWeight(id, weight, { actor }));
    return this.#server(pool, id);
  }

  async enable(actor: Actor, poolName: string, id: string): Promise<ServerSnapshot> {
    const pool = this.#pool(poolName);
    await control(() => pool.enable(id, { actor }));
    return this.#server(pool, id);
  }

  async disable(actor: Actor, poolName: string, id: string): Promise<ServerSnapshot> {
    const pool = this.#pool(poolName);
    await control(() => pool.disable(id, { actor }));
    return this.#server(pool, id);
  }

  /** Start a drain and answer once it is committed; the drain itself can take up to the pool's drainTimeoutMs. */
  async drain(actor: Actor, poolName: string, id: string, body: Body): Promise<Started> {
    const pool = this.#pool(poolName);
    const timeoutMs = body.timeoutMs === undefined ? undefined : numberField(body.timeoutMs, 'timeoutMs', false);
    this.#server(pool, id);
    await this.#background(pool.drain(id, timeoutMs, { actor }), 'drain', poolName, id);
    const after = this.#server(pool, id);
    return { server: after, deadline: after.drainDeadline ?? Date.now(), inFlight: after.active };
  }

  async add(actor: Actor, poolName: string, body: Body): Promise<ServerSnapshot> {
    const pool = this.#pool(poolName);
    if (typeof body.id !== 'string' || body.id === '') throw new HttpError(400, 'id: expected a non-empty string');
    if (typeof body.url !== 'string' || body.url === '') throw new HttpError(400, 'url: expected a URL like "http://10.0.0.5:8080"');
    const options: ServerOptions = { id: body.id, url: body.url };
    if (body.weight !== undefined) options.weight = numberField(body.weight, 'weight', true);
    if (body.backup !== undefined) {
      if (typeof body.backup !== 'boolean') throw new HttpError(400, 'backup: expected true or false');
      options.backup = body.backup;
    }
    await control(() => pool.addServer(options, { actor }));
    return this.#server(pool, options.id);
  }

  /** Drain, then remove: answers once the removal is committed; the server leaves snapshots when drained. */
  async remove(actor: Actor, poolName: string, id: string): Promise<Started> {
    const pool = this.#pool(poolName);
    const before = this.#server(pool, id);
    await this.#background(pool.removeServer(id, undefined, { actor }), 'remove', poolName, id);
    const after = this.#find(pool, id) ?? before;
    return { server: after, deadline: after.drainDeadline ?? Date.now(), inFlight: after.active };
  }

  /** A drain or removal runs long: answer once it has started (committed), or with its error; later failures are logged. */
  async #background(running: DrainPromise, what: string, pool: string, id: string): Promise<void> {
    running.catch((error: unknown) => this.#logger.error(`dashboard: ${what} failed`, { pool, server: id, error: String(error) }));
    await control(() => running.committed);
  }

  #pool(name: string): PoolControl {
    try {
      return this.#balancer.pool(name);
    } catch (error) {
      throw httpErrorOf(error);
    }
  }

  #find(pool: PoolControl, id: string): ServerSnapshot | undefined {
    return pool.snapshot().servers.find((candidate) => candidate.id === id);
  }

  #server(pool: PoolControl, id: string): ServerSnapshot {
    const server = this.#find(pool, id);
    if (!server) throw new HttpError(404, `no server "${id}" in pool "${pool.name}"`);
    return server;
  }
}

/** Run a control call, turning its ControlError into the HTTP answer. */
export async function control<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw httpErrorOf(error);
  }
}

/** A ControlError as the HTTP answer: 404 unknown, 409 a concurrent change won, 503 the store is away, 400 the rest. */
export function httpErrorOf(error: unknown): unknown {
  if (!(error instanceof ControlError)) return error;
  const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'CONFLICT' ? 409 : error.code === 'STORE_UNAVAILABLE' ? 503 : 400;
  return new HttpError(status, error.message);
}

/** A JSON number ≥ 0 (forms' strings are turned into numbers before this, see formFields). */
function numberField(value: unknown, name: string, allowFraction: boolean): number {
  const number = typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(number) || number < 0 || (!allowFraction && !Number.isInteger(number))) {
    throw new HttpError(400, `${name}: expected a number >= 0, got ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return number;
}
