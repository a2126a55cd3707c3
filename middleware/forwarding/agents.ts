import http from 'node:http';
import https from 'node:https';
import type { PoolConfig } from '../options.js';
import { IdleSocketReaper } from './idle-sockets.js';

/**
 * The agents of one pool, built at start-up and reused for every request: a keep-alive agent
 * per protocol, and one that never reuses a socket, for a retry after a reused socket was reset
 * (the next pooled socket may be just as stale).
 */
export class PoolAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  readonly freshHttp: http.Agent;
  readonly freshHttps: https.Agent;
  readonly #reaper: IdleSocketReaper;

  constructor(config: PoolConfig) {
    const common = {
      keepAlive: true,
      maxSockets: config.maxSockets,
      maxFreeSockets: config.maxSockets,
      // reuse the most recent socket, so that idle ones can age out
      scheduling: 'lifo' as const,
    };
    const tls: https.AgentOptions = { rejectUnauthorized: config.tls.rejectUnauthorized !== false };
    if (config.tls.ca !== undefined) tls.ca = config.tls.ca;
    this.http = new http.Agent(common);
    this.https = new https.Agent({ ...common, ...tls });
    this.freshHttp = new http.Agent({ keepAlive: false });
    this.freshHttps = new https.Agent({ keepAlive: false, ...tls });
    // idle sockets close before the server's own keep-alive timeout closes them under us
    this.#reaper = new IdleSocketReaper([this.http, this.https], config.idleSocketMs);
  }

  for(protocol: 'http:' | 'https:', fresh = false): http.Agent {
    if (fresh) return protocol === 'https:' ? this.freshHttps : this.freshHttp;
    return protocol === 'https:' ? this.https : this.http;
  }

  destroy(): void {
    this.#reaper.close();
    this.http.destroy();
    this.https.destroy();
    this.freshHttp.destroy();
    this.freshHttps.destroy();
  }
}
