/**
 * The proxy rows: each builds an http.Server that round-robins over the same three backends.
 * Baselines are written the way a user would write them, with a keep-alive agent.
 */
import http from 'node:http';
import express from 'express';
import httpProxy from 'http-proxy';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createBalancer } from '../middleware/index.js';
import type { ProxyRowName } from './settings.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function buildProxyServer(row: ProxyRowName, targets: readonly string[]): http.Server {
  return http.createServer(BUILDERS[row](targets));
}

const BUILDERS: Record<ProxyRowName, (targets: readonly string[]) => Listener> = {
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
};

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
  return new http.Agent({ keepAlive: true });
}

function poolOf(targets: readonly string[]) {
  return { pools: { api: { servers: targets.map((url, i) => ({ id: `b${i + 1}`, url })) } } };
}
