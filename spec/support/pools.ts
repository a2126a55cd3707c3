import type { Balancer, BalancerOptions, ChangeEvent, HealthEvent, PoolControl, PoolOptions } from '../../middleware/index.js';
import { createBalancer } from '../../middleware/index.js';
import type { PickContext } from '../../middleware/algorithms/algorithm.js';
import { recordOf } from '../../middleware/control/records.js';
import { Guard } from '../../middleware/guard.js';
import { safeLogger, silentLogger } from '../../middleware/logger.js';
import type { PoolConfig } from '../../middleware/options.js';
import { Pool } from '../../middleware/pool/pool.js';
import type { Server } from '../../middleware/pool/server.js';

export interface TestPool {
  balancer: Balancer;
  /** The runtime pool (eligibility, picks, in-flight). */
  pool: Pool;
  /** Its control API, as `balancer.pool(name)` gives it. */
  control: PoolControl;
  changes: ChangeEvent[];
  health: HealthEvent[];
}

const open = new Set<Balancer>();

/** A real balancer around one pool, for unit specs of what pools do; closed by `closeTestPools`. */
export function testPool(options: PoolOptions, extra: Omit<BalancerOptions, 'pools'> = {}, name = 'api'): TestPool {
  const balancer = createBalancer({ logger: silentLogger, ...extra, pools: { [name]: options } });
  open.add(balancer);
  const changes: ChangeEvent[] = [];
  const health: HealthEvent[] = [];
  balancer.on('change', (event) => changes.push(event));
  balancer.on('health', (event) => health.push(event));
  return { balancer, pool: balancer.poolInternal(name), control: balancer.pool(name), changes, health };
}

/** Close every balancer `testPool` made (in an `afterEach`). */
export async function closeTestPools(): Promise<void> {
  const balancers = [...open];
  open.clear();
  await Promise.all(balancers.map((balancer) => balancer.close()));
}

export const pickContext = (now = Date.now(), clientAddress = '127.0.0.1'): PickContext => ({ clientAddress, method: 'GET', path: '/', headers: {}, now });

/** The pool's pick for a request, failing the test on a full pool. */
export function pick(pool: Pool, context: PickContext = pickContext()): Server | undefined {
  const choice = pool.choose(context);
  if (choice === 'full') throw new Error('every server is full');
  return choice;
}

/** A promise's rejection, to assert on (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, got a result');
}

/** A pool on its own (no balancer): for specs of what health does to one. */
export function barePool(config: PoolConfig, emitHealth: (event: HealthEvent) => void = () => {}): Pool {
  return new Pool(config, {
    guard: new Guard(safeLogger(silentLogger)),
    emitHealth,
    emitPanic: () => {},
    reportDrain: () => {},
    drainCancelled: () => {},
    removalOverdue: () => {},
  });
}

/** Add a server to a bare pool as a committed change would. */
export function addTo(pool: Pool, server: { id: string; url: string; weight?: number; backup?: boolean }): void {
  pool.applyChanges([{ id: server.id, before: null, after: { ...recordOf({ weight: 1, backup: false, labels: {}, ...server }), rev: 1 } }]);
}

/** Remove a server from a bare pool as a committed removal would. */
export function removeFrom(pool: Pool, id: string): void {
  pool.applyChanges([{ id, before: pool.get(id)!.record, after: null }]);
}
