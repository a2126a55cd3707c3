import http from 'node:http';
import https from 'node:https';
import type { PoolConfig } from '../options.js';

/** One keep-alive agent per pool and protocol, built at start-up and reused for every request. */
export class PoolAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;

  constructor(config: PoolConfig) {
    const common = {
      keepAlive: true,
      maxSockets: config.maxSockets,
      maxFreeSockets: config.maxSockets,
      // idle sockets time out before the server's own keep-alive timeout closes them under us
      timeout: config.idleSocketMs,
      // reuse the most recent socket, so that idle ones can age out
      scheduling: 'lifo' as const,
    };
    this.http = new http.Agent(common);
    const tls: https.AgentOptions = { ...common, rejectUnauthorized: config.tls.rejectUnauthorized !== false };
    if (config.tls.ca !== undefined) tls.ca = config.tls.ca;
    this.https = new https.Agent(tls);
  }

  for(protocol: 'http:' | 'https:'): http.Agent {
    return protocol === 'https:' ? this.https : this.http;
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
