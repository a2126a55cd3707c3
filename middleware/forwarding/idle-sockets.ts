import type http from 'node:http';
import type { Socket } from 'node:net';

interface Mark {
  /** bytesRead + bytesWritten when last seen moving. */
  bytes: number;
  since: number;
}

/**
 * Closes keep-alive sockets that have sat in an agent's free list for `idleMs`, so that we
 * close them before the server's own keep-alive timeout closes them under a request. Node's
 * agent `timeout` option does this too, but it arms a timeout listener on every request's
 * socket; a sweep over the free lists costs the request path nothing. A socket counts as idle
 * from the first sweep that finds its byte counters unchanged, so it closes within
 * `idleMs + 2 × period` of its last use.
 */
export class IdleSocketReaper {
  readonly #agents: readonly http.Agent[];
  readonly #idleMs: number;
  readonly #marks = new WeakMap<Socket, Mark>();
  readonly #timer: NodeJS.Timeout;

  constructor(agents: readonly http.Agent[], idleMs: number) {
    this.#agents = agents;
    this.#idleMs = idleMs;
    this.#timer = setInterval(() => this.sweep(Date.now()), Math.max(10, Math.min(250, Math.floor(idleMs / 8))));
    this.#timer.unref();
  }

  sweep(now: number): void {
    for (const agent of this.#agents) {
      for (const sockets of Object.values(agent.freeSockets)) {
        // destroying removes the socket from the list we walk: walk a copy
        for (const socket of [...(sockets ?? [])]) this.#visit(socket, now);
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #visit(socket: Socket, now: number): void {
    const bytes = socket.bytesRead + socket.bytesWritten;
    const mark = this.#marks.get(socket);
    if (!mark || mark.bytes !== bytes) this.#marks.set(socket, { bytes, since: now });
    else if (now - mark.since >= this.#idleMs) socket.destroy();
  }
}
