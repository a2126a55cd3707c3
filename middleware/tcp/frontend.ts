import net from 'node:net';
import { ConfigError, ControlError } from '../errors.js';
import type { SafeLogger } from '../logger.js';
import type { Pool } from '../pool/pool.js';
import { TcpRelay } from './relay.js';

/** Where `listenTcp` listens besides the port. */
export interface ListenTcpOptions {
  /** Default: every interface, as `net.Server.listen(port)`. */
  host?: string;
  backlog?: number;
}

/**
 * The balancer's layer 4 side: one relay per TCP pool, the handlers given out for
 * `net.createServer(balancer.tcp('cache'))`, and the servers `listenTcp` opened (closed with
 * the balancer).
 */
export class TcpFrontend {
  readonly #relays = new Map<string, TcpRelay>();
  readonly #pools: ReadonlyMap<string, Pool>;
  readonly #listeners = new Set<net.Server>();
  readonly #logger: SafeLogger;

  constructor(pools: ReadonlyMap<string, Pool>, logger: SafeLogger) {
    this.#pools = pools;
    this.#logger = logger;
    for (const [name, pool] of pools) {
      if (pool.config.protocol === 'tcp') this.#relays.set(name, new TcpRelay(pool, { warn: (message, fields) => logger.warn(message, fields) }));
    }
  }

  /** The relay of a TCP pool; a ConfigError for an HTTP pool, a ControlError for no pool. */
  relay(name: string): TcpRelay {
    const relay = this.#relays.get(name);
    if (relay) return relay;
    if (this.#pools.has(name)) throw new ConfigError(`tcp('${name}')`, `pool "${name}" is an HTTP pool: give it protocol: 'tcp' and tcp:// servers, or route HTTP requests to it`);
    throw new ControlError(`no pool "${name}"`, { code: 'NOT_FOUND' });
  }

  listen(port: number, name: string, options: ListenTcpOptions = {}): net.Server {
    const relay = this.relay(name);
    const server = net.createServer({ allowHalfOpen: true }, relay.handle);
    // a listen error (EADDRINUSE) is the caller's to see: logged, and emitted to their own 'error' listeners
    server.on('error', (error) => this.#logger.error(`listenTcp(${port}, '${name}') failed`, { error: String(error) }));
    server.on('close', () => this.#listeners.delete(server));
    this.#listeners.add(server);
    server.listen({ port, host: options.host, backlog: options.backlog });
    return server;
  }

  /** Stop accepting: listeners close and handlers refuse; open connections are the pools' to settle. */
  close(): void {
    for (const relay of this.#relays.values()) relay.close();
    for (const server of this.#listeners) server.close();
  }
}
