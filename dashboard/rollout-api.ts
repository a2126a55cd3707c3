import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from 'express';
import type { Balancer } from '../middleware/balancer.js';
import type { Actor } from './actions.js';
import { isForm, readBody, type Body } from './body.js';
import { HttpError, paramsOf, redirect, sendError, sendJson, toRoot } from './http.js';
import type { RolloutActions, RolloutOperation } from './rollout-actions.js';
import { rolloutView, type RolloutView } from './rollout-view.js';

export interface RolloutApiContext {
  balancer: Balancer;
  rollouts: RolloutActions;
  bodyLimit: number;
  actor(req: IncomingMessage): Actor;
}

type Action = (actor: Actor, pool: string, body: Body) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown };

const OPERATIONS: readonly RolloutOperation[] = ['pause', 'resume', 'promote', 'abort'];

/**
 * The rollout routes under `api/pools/:pool/rollout`, registered before the API's catch-all.
 * State-changing ones pass the same authentication and CSRF guard as every API action (the
 * router's), and also take the page's forms (urlencoded, answered with a redirect back).
 * `GET api/rollouts` answers every pool's panel, formatted, for the page to poll.
 */
export function mountRolloutApi(router: Router, context: RolloutApiContext): void {
  const { balancer, rollouts } = context;
  const base = '/api/pools/:pool/rollout';

  router.get(base, (req: IncomingMessage, res: ServerResponse) => {
    try {
      sendJson(res, 200, rollouts.snapshot(paramsOf(req).pool!));
    } catch (error) {
      sendError(res, error);
    }
  });
  router.get('/api/rollouts', (req: IncomingMessage, res: ServerResponse) => {
    const snapshot = balancer.snapshot();
    const pools: Record<string, RolloutView | null> = {};
    for (const [name, pool] of Object.entries(snapshot.pools)) pools[name] = pool.rollout ? rolloutView(pool.rollout) : null;
    sendJson(res, 200, { at: snapshot.at, pools });
  });

  const post = (path: string, action: Action) => router.post(path, handler(context, action));
  post(base, async (actor, pool, body) => ({ status: 201, body: await rollouts.start(actor, pool, planOf(body)) }));
  // before `:operation`-like paths: a preview is no operation and changes nothing
  post(`${base}/preview`, (actor, pool, body) => ({ status: 200, body: rollouts.preview(pool, body) }));
  for (const operation of OPERATIONS) {
    post(`${base}/${operation}`, async (actor, pool, body) => ({ status: 200, body: await rollouts.operate(actor, pool, operation, body) }));
  }
}

function handler(context: RolloutApiContext, action: Action) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = isForm(req);
    const body = await readBody(req, context.bodyLimit);
    const result = await action(context.actor(req), paramsOf(req).pool!, form ? formFields(body) : body);
    if (form && /text\/html/.test(req.headers.accept ?? '')) return redirect(res, toRoot(req));
    sendJson(res, result.status, result.body);
  };
}

/** A JSON body is the plan itself, or `{ plan }`; a form sends the plan as JSON text in its `plan` field. */
function planOf(body: Body): unknown {
  return typeof body.plan === 'object' && body.plan !== null && body.canary === undefined ? body.plan : body;
}

/** A form's fields: the plan's JSON text parsed, numbers as numbers, the CSRF field left out. */
function formFields(fields: Body): Body {
  const body: Body = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === '' || name === '_csrf') continue;
    if (name === 'plan' && typeof value === 'string') {
      try {
        body.plan = JSON.parse(value) as unknown;
      } catch {
        throw new HttpError(400, 'plan: expected JSON like {"canary":{"label":{"version":"v2"}},"steps":[{"share":5},{"share":100}]}');
      }
    } else if ((name === 'share' || name === 'step') && typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) {
      body[name] = Number(value);
    } else {
      body[name] = value;
    }
  }
  return body;
}
