import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from 'express';
import type { Balancer } from '../middleware/balancer.js';
import type { Actions, Actor } from './actions.js';
import type { AuditLog } from './audit.js';
import { isForm, readBody, type Body } from './body.js';
import { paramsOf, redirect, sendJson, toRoot } from './http.js';
import { withShares } from './share.js';

export interface ApiContext {
  balancer: Balancer;
  actions: Actions;
  audit: AuditLog;
  bodyLimit: number;
  /** Entries `GET api/audit` answers, newest first. */
  auditSize: number;
  actor(req: IncomingMessage): Actor;
}

type Action = (actor: Actor, params: Record<string, string>, body: Body) => Promise<{ status: number; body: unknown }>;

/**
 * The JSON API under `api/`. Every state-changing route also takes an HTML form's urlencoded
 * body, and then answers with a redirect back to the page (the page works without JS).
 */
export function mountApi(router: Router, context: ApiContext): void {
  const { balancer, actions, audit } = context;
  const server = '/api/pools/:pool/servers/:id';

  router.get('/api/pools', (req: IncomingMessage, res: ServerResponse) => sendJson(res, 200, withShares(balancer.snapshot())));
  router.get('/api/audit', (req: IncomingMessage, res: ServerResponse) => sendJson(res, 200, { entries: audit.recent(context.auditSize) }));

  const post = (path: string, action: Action) => router.post(path, handler(context, action));
  post(`${server}/weight`, async (actor, p, body) => ({ status: 200, body: { server: await actions.setWeight(actor, p.pool!, p.id!, body) } }));
  post(`${server}/enable`, async (actor, p) => ({ status: 200, body: { server: await actions.enable(actor, p.pool!, p.id!) } }));
  post(`${server}/disable`, async (actor, p) => ({ status: 200, body: { server: await actions.disable(actor, p.pool!, p.id!) } }));
  // 202: the drain goes on after the answer, for up to the pool's drainTimeoutMs
  post(`${server}/drain`, async (actor, p, body) => ({ status: 202, body: await actions.drain(actor, p.pool!, p.id!, body) }));
  post('/api/pools/:pool/servers', async (actor, p, body) => ({ status: 201, body: { server: await actions.add(actor, p.pool!, body) } }));
  const remove: Action = async (actor, p) => ({ status: 202, body: await actions.remove(actor, p.pool!, p.id!) });
  router.delete(server, handler(context, remove));
  post(`${server}/remove`, remove); // forms cannot send DELETE

  router.all('/api/*rest', (req: IncomingMessage, res: ServerResponse) => sendJson(res, 404, { error: `no API route ${req.method} ${req.url}`, status: 404 }));
}

function handler(context: ApiContext, action: Action) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = isForm(req);
    const body = await readBody(req, context.bodyLimit);
    const result = await action(context.actor(req), paramsOf(req), form ? formFields(body) : body);
    if (form && /text\/html/.test(req.headers.accept ?? '')) return redirect(res, toRoot(req));
    sendJson(res, result.status, result.body);
  };
}

/**
 * A form's fields are all strings: give them the JSON API's types. Empty fields are left out
 * (an empty weight in the add form means "the default"); a field that is not a decimal stays a
 * string, which the action then refuses with a 400.
 */
export function formFields(fields: Body): Body {
  const body: Body = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === '' || name === '_csrf') continue;
    if ((name === 'weight' || name === 'timeoutMs') && typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) body[name] = Number(value);
    else if (name === 'backup') body[name] = value === 'on' || value === 'true';
    else body[name] = value;
  }
  return body;
}
