import type { Balancer } from '../middleware/balancer.js';
import type { Actor } from '../middleware/control/changes.js';
import type { PoolControl } from '../middleware/control/pool-control.js';
import { ConfigError } from '../middleware/errors.js';
import { normalizePlan } from '../middleware/rollout/plan.js';
import { canaryOf, previewSplit, type PreviewServer, type TrafficPreview } from '../middleware/rollout/preview.js';
import type { Rollout, RolloutSnapshot } from '../middleware/rollout/rollout.js';
import { control, httpErrorOf } from './actions.js';
import type { Body } from './body.js';
import { HttpError } from './http.js';

export type RolloutOperation = 'pause' | 'resume' | 'promote' | 'abort';

/**
 * A pool's rollout, as the dashboard drives it: start, the four operator calls and a preview,
 * through the pool's public control API with the operator as actor (the core audits each).
 * 404: unknown pool or no rollout; 409: one already runs, or it is already finished; 400 a bad plan.
 */
export class RolloutActions {
  readonly #balancer: Balancer;

  constructor(balancer: Balancer) {
    this.#balancer = balancer;
  }

  /** The pool's rollout snapshot: running, paused, or the last one finished here. */
  snapshot(poolName: string): RolloutSnapshot {
    return this.#rollout(this.#pool(poolName)).snapshot();
  }

  /** The snapshot, or null for a known pool without a rollout. */
  find(poolName: string): RolloutSnapshot | null {
    return this.#pool(poolName).currentRollout()?.snapshot() ?? null;
  }

  async start(actor: Actor, poolName: string, plan: unknown): Promise<RolloutSnapshot> {
    const pool = this.#pool(poolName);
    const rollout = await control(() => pool.rollout(plan as never, { actor }));
    return rollout.snapshot();
  }

  async operate(actor: Actor, poolName: string, operation: RolloutOperation, body: Body): Promise<RolloutSnapshot> {
    const rollout = this.#rollout(this.#pool(poolName));
    if (operation === 'abort') {
      const reason = body.reason;
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) throw new HttpError(400, 'reason: expected a string of at most 500 characters');
      await control(() => rollout.abort(reason ? { actor, reason } : { actor }));
    } else {
      await control(() => rollout[operation]({ actor }));
    }
    return rollout.snapshot();
  }

  /**
   * The split a step would give, changing nothing: `{ plan, step }` (step 0-based, as in the
   * snapshot), `{ canary, share }`, or `{ share }` for the pool's running rollout's canary.
   */
  preview(poolName: string, body: Body): TrafficPreview & { canary: string[] } {
    const pool = this.#pool(poolName);
    const servers = previewServers(pool);
    let canary: Set<string>;
    let share: number;
    if (body.plan !== undefined) {
      const { plan } = asRequest(() => normalizePlan(body.plan, 'plan'));
      const step = body.step ?? 0;
      if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step >= plan.steps.length) {
        throw new HttpError(400, `step: expected a step index from 0 to ${plan.steps.length - 1}, got ${JSON.stringify(step) ?? 'nothing'}`);
      }
      canary = canaryOf(servers, plan.canary);
      share = plan.steps[step]!.share;
    } else {
      share = shareField(body.share);
      if (body.canary !== undefined) {
        // the plan's own validation, on a one-step plan, so the messages are the core's
        const { plan } = asRequest(() => normalizePlan({ canary: body.canary, steps: [{ share: 100 }] }, 'plan'));
        canary = canaryOf(servers, plan.canary);
      } else {
        const running = pool.currentRollout();
        if (!running || running.status === 'aborted' || running.status === 'completed') throw new HttpError(400, 'canary: expected a canary selector like { "label": { "version": "v2" } } or a plan (no rollout runs in this pool)');
        canary = new Set(running.snapshot().canary.servers);
      }
    }
    if (canary.size === 0) throw new HttpError(404, `no server of pool "${poolName}" matches the canary`);
    return { ...previewSplit(servers, canary, share), canary: [...canary] };
  }

  #pool(name: string): PoolControl {
    try {
      return this.#balancer.pool(name);
    } catch (error) {
      throw httpErrorOf(error);
    }
  }

  #rollout(pool: PoolControl): Rollout {
    const rollout = pool.currentRollout();
    if (!rollout) throw new HttpError(404, `pool "${pool.name}" has no rollout`);
    return rollout;
  }
}

/** The pool's members as the split sees them: records (not those being removed) with the runtime's eligibility and weight. */
function previewServers(pool: PoolControl): PreviewServer[] {
  const runtime = new Map(pool.snapshot().servers.map((server) => [server.id, server]));
  return pool.records().filter((record) => record.admin !== 'removing').map((record) => {
    const server = runtime.get(record.id);
    return { id: record.id, labels: record.labels, backup: record.backup, eligible: server?.eligible ?? false, effectiveWeight: server?.effectiveWeight ?? record.weight };
  });
}

function shareField(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 100) {
    throw new HttpError(400, `share: expected a number from 0.01 to 100, got ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return value;
}

function asRequest<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof ConfigError) throw new HttpError(400, error.message);
    throw error;
  }
}
