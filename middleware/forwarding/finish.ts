import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { Guard } from '../guard.js';
import type { FinishRecord } from '../hooks.js';
import type { Outcome } from '../stats/server-stats.js';
import type { Exchange } from './exchange.js';

/**
 * Every finished proxied request is published here as a FinishRecord (undici's model):
 * `diagnostics_channel.subscribe('switchyard:request', (record) => …)` needs no reference to
 * the balancer, so access logs and tracing can be added from anywhere.
 */
export const requestChannel = diagnosticsChannel.channel('switchyard:request');

/**
 * Hand a finished request to `hooks.finish` and the diagnostics channel. Builds the record only
 * when someone listens, so that a request nobody watches costs one check.
 */
export function reportFinish(exchange: Exchange, outcome: Outcome, guard: Guard): void {
  const hooks = exchange.route.route.hooks.finish;
  if (hooks.length === 0 && !requestChannel.hasSubscribers) return;
  const record = finishRecord(exchange, outcome);
  if (requestChannel.hasSubscribers) guard.run('a switchyard:request subscriber', () => requestChannel.publish(record), undefined);
  for (const hook of hooks) guard.run(`routes[${exchange.route.route.index}].hooks.finish`, () => hook(record), undefined);
}

function finishRecord(exchange: Exchange, outcome: Outcome): FinishRecord {
  const end = performance.now();
  const { res, req } = exchange;
  const server = (exchange.server as typeof exchange.server | undefined)?.id;
  return Object.freeze({
    pool: exchange.pool.name,
    server,
    method: exchange.method,
    path: exchange.path,
    status: res.headersSent ? res.statusCode : 0,
    outcome,
    code: exchange.code,
    requestId: exchange.requestId,
    retries: exchange.retries,
    bytesIn: Number(req.headers['content-length']) || exchange.chunkedBytesIn,
    bytesOut: exchange.bytesOut,
    startedAt: exchange.now,
    durationMs: round(end - exchange.arrived),
    queueMs: round(exchange.queuedMs),
    firstByteMs: exchange.firstByteAt > 0 ? round(exchange.firstByteAt - exchange.arrived) : undefined,
  });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
