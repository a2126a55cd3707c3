/**
 * The proxy rows: each builds an http.Server that round-robins over the same three backends.
 * Baselines are written the way a user would write them, with a keep-alive agent.
 */
import http from 'node:http';
import express from 'express';
import httpProxy from 'http-proxy';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createBalancer, type BalancerOptions, type PoolOptions } from '../middleware/index.js';
import type { ProxyRowName } from './settings.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function buildProxyServer(row: ProxyRowName, targets: readonly string[]): http.Server {
  return http.createServer(BUILDERS[row](targets));
}

const BUILDERS: Record<ProxyRowName, (targets: readonly string[]) => Listener> = {
  'bare-forwarder': (targets) => bareForwarder(targets),
  'node-http-proxy': (targets) => bareProxy(targets),
  'express-http-proxy': (targets) => {
    const app = express();
    const proxy = bareProxy(targets);
    app.use((req, res) => proxy(req, res));
    return app;
  },
  'express-hpm': (targets) => {
    const app = express();
    const next = roundRobin(targets);
    app.use(
      createProxyMiddleware({
        target: targets[0],
        router: () => next(),
        agent: keepAliveAgent(),
      }),
    );
    return app;
  },
  'switchyard-express': (targets) => {
    const app = express();
    app.use(createBalancer(poolOf(targets)).express());
    return app;
  },
  'switchyard-wrap': (targets) => {
    const app = express();
    return createBalancer(poolOf(targets)).wrap(app);
  },
  'switchyard-wrap-p2c': (targets) => createBalancer(poolOf(targets, { algorithm: 'p2c' })).wrap(express()),
  // every request from wrk carries the same address: the load bound is what spreads them
  'switchyard-wrap-hash': (targets) => createBalancer(poolOf(targets, { algorithm: 'consistent-hash', hash: { balanceFactor: 1.25 } })).wrap(express()),
  // wrk keeps no cookies: every request is a new sticky client, the costliest case
  'switchyard-wrap-all': (targets) =>
    createBalancer({
      ...poolOf(targets, { algorithm: 'least-connections', sticky: true, healthCheck: { type: 'http', path: '/', intervalMs: 1000, timeoutMs: 500 }, passiveHealth: {} }),
      sticky: { secret: 'a-benchmark-secret-of-some-length' },
    }).wrap(express()),
  // the cheapest useful hook: one header set on the way up
  'switchyard-wrap-hook': (targets) =>
    createBalancer({ ...poolOf(targets), hooks: { request: ({ headers }) => void (headers['x-tenant'] = 'acme') } }).wrap(express()),
};

/**
 * The leanest relay: node:http both ways with a keep-alive agent, in 15 lines. Everything a
 * proxy does beyond this costs CPU; this row says how much.
 */
function bareForwarder(targets: readonly string[]): Listener {
  const agent = keepAliveAgent();
  const upstreams = targets.map((target) => new URL(target));
  let next = 0;
  return (req, res) => {
    const target = upstreams[next++ % upstreams.length]!;
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  };
}

/** `proxy.web(req, res, { target })` with round robin: the yardstick. */
function bareProxy(targets: readonly string[]): Listener {
  const proxy = httpProxy.createProxyServer({ agent: keepAliveAgent() });
  const next = roundRobin(targets);
  const onError = (error: Error, _req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (!res.headersSent) res.writeHead(502);
    res.end(`proxy error: ${error.message}`);
  };
  return (req, res) => proxy.web(req, res, { target: next() }, (error) => onError(error, req, res));
}

function roundRobin(targets: readonly string[]): () => string {
  let index = 0;
  return () => {
    const target = targets[index]!;
    index = (index + 1) % targets.length;
    return target;
  };
}

function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 256 });
}

function poolOf(targets: readonly string[], pool: Omit<PoolOptions, 'servers'> = {}): BalancerOptions {
  return { pools: { api: { ...pool, servers: targets.map((url, i) => ({ id: `b${i + 1}`, url })) } } };
}
