import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'fleet-instance.js');

export interface FleetOptions {
  instanceId: string;
  redis: { url?: string; sentinels?: Array<{ host: string; port: number }>; name?: string; cluster?: Array<{ host: string; port: number }> };
  prefix: string;
  servers: Array<{ id: string; url: string }>;
  heartbeatMs?: number;
  maxLogLength?: number;
  snapshotFile?: string;
  memory?: boolean;
  healthCheck?: { type: 'http'; path: string; intervalMs: number; timeoutMs: number; unhealthyThreshold?: number; healthyThreshold?: number };
}

export interface CallError {
  code: string;
  message: string;
  current: unknown;
}

type Reply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; error: CallError };

/**
 * A balancer instance in its own process (spec/fixtures/fleet-instance.ts), driven over IPC.
 * `changes` collects the (revision, wall-clock time) of every change it applied.
 */
export class FleetInstance {
  readonly options: FleetOptions;
  readonly changes: Array<{ revision: number; at: number }> = [];
  port = 0;
  #child: ChildProcess | undefined;
  #seq = 0;
  #pending = new Map<number, (reply: Reply) => void>();

  private constructor(options: FleetOptions) {
    this.options = options;
  }

  static async start(options: FleetOptions): Promise<FleetInstance> {
    const instance = new FleetInstance(options);
    await instance.restart();
    return instance;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async restart(): Promise<void> {
    const child = fork(FIXTURE, [], { env: { ...process.env, FLEET: JSON.stringify(this.options) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child = child;
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.on('exit', killOnExit);
    child.once('exit', () => {
      process.off('exit', killOnExit);
      for (const resolve of this.#pending.values()) resolve({ seq: -1, ok: false, error: { code: 'EXITED', message: 'the instance exited', current: null } });
      this.#pending.clear();
    });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`fleet instance exited with ${code}`)));
      child.on('message', (message: { event?: string; port?: number; revision?: number; at?: number } & Partial<Reply>) => {
        if (message.event === 'ready') {
          this.port = message.port!;
          resolve();
        } else if (message.event === 'change') {
          this.changes.push({ revision: message.revision!, at: message.at! });
        } else if (typeof message.seq === 'number') {
          this.#pending.get(message.seq)?.(message as Reply);
          this.#pending.delete(message.seq);
        }
      });
    });
  }

  /** Run a command; resolves with its value or rejects with { code, message, current }. */
  async call<T = unknown>(cmd: string, ...args: unknown[]): Promise<T> {
    const reply = await this.attempt(cmd, ...args);
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), reply.error);
    return reply.value as T;
  }

  attempt(cmd: string, ...args: unknown[]): Promise<Reply> {
    const seq = ++this.#seq;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ seq, ok: false, error: { code: 'EXITED', message: 'not running', current: null } });
    return new Promise((resolve) => {
      this.#pending.set(seq, resolve);
      child.send({ seq, cmd, args });
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Close cleanly (leaves the fleet), or kill after a second. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void this.attempt('close');
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  }
}
