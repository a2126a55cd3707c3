import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { createBalancer, type Balancer, type FinishRecord } from '../../middleware/index.js';
import { refusedUrl, startBackend, type Backend } from '../support/backends.js';
import { waitFor } from '../support/wait.js';
import { traceRequests } from '../fixtures/recipes/opentelemetry.js';
import { accessLog } from '../fixtures/recipes/pino.js';

const root = path.resolve(__dirname, '../../..');

/** OpenTelemetry's [seconds, nanoseconds] as milliseconds. */
function ms([seconds, nanos]: [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}

/** Lines a pino logger wrote, parsed. */
function lineSink(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

describe('recipes (docs/recipes.md), run with the real libraries', () => {
  let backend: Backend;
  let balancer: Balancer | undefined;

  beforeEach(async () => {
    backend = await startBackend('api-1');
  });

  afterEach(async () => {
    await balancer?.close();
    balancer = undefined;
    await backend.close();
  });

  it('docs/recipes.md quotes each recipe file verbatim, importing from the package', () => {
    const doc = readFileSync(path.join(root, 'docs/recipes.md'), 'utf8');
    for (const file of ['opentelemetry.ts', 'pino.ts']) {
      const source = readFileSync(path.join(root, 'spec/fixtures/recipes', file), 'utf8').replaceAll("'../../../middleware/index.js'", "'switchyard'");
      expect(doc, file).to.include(source.trimEnd());
    }
  });

  it('OpenTelemetry: a span per proxied request with pool, server, status and the duration switchyard measured', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const records: FinishRecord[] = [];
    const record = (message: unknown): void => void records.push(message as FinishRecord);
    diagnosticsChannel.subscribe('switchyard:request', record);
    const stop = traceRequests(provider.getTracer('recipes'));
    try {
      balancer = createBalancer({
        pools: { api: { servers: [{ id: 'api-1', url: backend.url }] }, dead: { servers: [{ id: 'dead-1', url: await refusedUrl() }], retries: 0 } },
        routes: [{ path: '/api', pool: 'api' }, { path: '/dead', pool: 'dead' }],
        logger: { warn: () => {}, error: () => {} },
      });
      const app = express().use(balancer.express());
      await request(app).get('/api/one').expect(200);
      await request(app).get('/dead/two').expect(502);
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans();
      expect(spans.map((span) => span.name)).to.deep.equal(['GET api', 'GET dead']);
      expect(spans[0]!.attributes).to.include({ 'switchyard.pool': 'api', 'switchyard.server': 'api-1', 'http.response.status_code': 200, 'switchyard.outcome': 'ok' });
      expect(spans[0]!.status.code).to.equal(SpanStatusCode.UNSET);
      expect(spans[1]!.attributes).to.include({ 'switchyard.pool': 'dead', 'switchyard.server': 'dead-1', 'http.response.status_code': 502, 'switchyard.outcome': 'connect' });
      expect(spans[1]!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'UPSTREAM_CONNECT_FAILED' });
      for (const [i, span] of spans.entries()) {
        expect(ms(span.startTime)).to.be.closeTo(records[i]!.startedAt, 0.01);
        expect(ms(span.duration)).to.be.closeTo(records[i]!.durationMs, 0.01);
        expect(records[i]!.durationMs).to.be.greaterThan(0);
      }
      stop();
      await request(app).get('/api/three').expect(200);
      await provider.forceFlush();
      expect(exporter.getFinishedSpans(), 'no span once unsubscribed').to.have.length(2);
      expect(records).to.have.length(3);
    } finally {
      stop();
      diagnosticsChannel.unsubscribe('switchyard:request', record);
      await provider.shutdown();
    }
  });

  it('pino: an access-log line per proxied request with pool, server, status and duration', async () => {
    const { stream, lines } = lineSink();
    balancer = createBalancer({
      pools: { api: { servers: [{ id: 'api-1', url: backend.url }] } },
      routes: [{ path: '/api', pool: 'api' }],
      hooks: { finish: accessLog(pino({ base: undefined }, stream)) },
    });
    await request(express().use(balancer.express())).get('/api/hello?x=1').expect(200);
    await waitFor('the access-log line', () => lines.length === 1);
    const line = lines[0]!;
    expect(line).to.include({ level: 30, msg: 'proxied', pool: 'api', server: 'api-1', method: 'GET', status: 200, outcome: 'ok' });
    expect(line.path).to.be.a('string').and.match(/^\/api\/hello/);
    expect(line.durationMs).to.be.a('number').and.greaterThan(0);
  });

  it('a pino logger passed as `logger` gets (fields, message): fields are structured, not in the message', async () => {
    const { stream, lines } = lineSink();
    let healthy = true;
    const checked = await startBackend('checked-1', (req, res) => res.writeHead(healthy ? 200 : 500).end());
    try {
      balancer = createBalancer({
        pools: { api: { servers: [{ id: 'checked-1', url: checked.url }], healthCheck: { type: 'http', path: '/health', intervalMs: 50, timeoutMs: 25, unhealthyThreshold: 1, healthyThreshold: 1 } } },
        routes: [{ path: '/api', pool: 'api' }],
        logger: pino({ base: undefined }, stream),
      });
      await waitFor('a healthy server', () => balancer!.snapshot().pools.api!.servers[0]!.health === 'healthy');
      healthy = false;
      await waitFor('a warning', () => lines.some((line) => line.level === 40));
      const warning = lines.find((line) => line.level === 40)!;
      expect(warning).to.include({ pool: 'api', server: 'checked-1', url: checked.url });
      expect(warning.msg).to.be.a('string').and.include('unhealthy');
    } finally {
      await balancer?.close();
      balancer = undefined;
      await checked.close();
    }
  });
});
