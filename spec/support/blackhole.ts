import { spawn } from 'node:child_process';
import net from 'node:net';

/** A child that listens with a backlog of 1 and then blocks its thread (no CPU): the kernel completes two handshakes, then drops SYNs. */
const SCRIPT = `
const net = require('node:net');
net.createServer().listen(0, '127.0.0.1', 1, function () {
  process.stdout.write(this.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
});`;

export interface Blackhole {
  url: string;
  close(): Promise<void>;
}

/**
 * A real address where a TCP connect never completes (a server whose accept queue is full), for
 * connect-timeout tests: loopback refuses or accepts at once otherwise.
 */
export async function startBlackhole(): Promise<Blackhole> {
  const child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  // fill the accept queue: every later connect waits for a SYN-ACK that never comes
  const fillers = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  })));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
