import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { freePort } from './ports.js';

/**
 * A real `redis-server` child process on a free loopback port, without persistence. Tests
 * stop and restart it (same port, empty again) to play an outage, and `kill()` it in `after`.
 * Call `requireTool(this, 'redis-server')` before starting one.
 */
export class RedisServer {
  readonly port: number;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number) {
    this.port = port;
  }

  /** Start one; a few tries, in case another process takes the free port first. */
  static async start(): Promise<RedisServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = new RedisServer(await freePort());
      try {
        await server.restart();
        return server;
      } catch (error) {
        lastError = error;
        await server.kill();
      }
    }
    throw lastError;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Start (again) on the same port and wait until it answers PING. */
  async restart(timeoutMs = 5000): Promise<void> {
    if (this.#child) return;
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir(),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.#log = (this.#log + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (this.#log = (this.#log + chunk.toString()).slice(-4000)));
    // if the test run ends abruptly, take the child with it
    const killOnExit = killChild(child);
    process.on('exit', killOnExit);
    child.once('exit', () => {
      process.off('exit', killOnExit);
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await ping(this.port))) {
      if (!this.#child) throw new Error(`redis-server exited on port ${this.port}: ${this.#log}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${this.port} within ${timeoutMs} ms: ${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stop it (SIGTERM, no save configured) and wait for the process to end. */
  async stop(): Promise<void> {
    await this.#end('SIGTERM');
  }

  /** For `after` hooks: end it whatever its state. */
  async kill(): Promise<void> {
    await this.#end('SIGKILL');
  }

  async #end(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

function killChild(child: ChildProcess): () => void {
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
}

/** Does a Redis on this port answer PING with +PONG? */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
