import http from 'node:http';
import { send } from './hosts.js';

/** Backends whose behaviour a test can change while traffic flows. */
export type Mode = 'ok' | 'fail' | 'slow';

export const modes = new Map<string, Mode>();

/** Answers `{ backend }`; `fail`: 500; `slow`: after 40 ms; `ok`: after 2 ms. */
export function modalHandler(req: http.IncomingMessage, res: http.ServerResponse, backend: { id: string }): void {
  req.resume();
  const mode = modes.get(backend.id) ?? 'ok';
  const answer = (): void => {
    res.writeHead(mode === 'fail' ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ backend: backend.id }));
  };
  setTimeout(answer, mode === 'slow' ? 40 : 2);
}

/** A client with a cookie jar of one cookie (the affinity one), and the backends that answered it. */
export interface User {
  cookie: string | undefined;
  seen: string[];
}

/**
 * Real HTTP traffic from `users` clients through the host, `concurrency` requests at a time,
 * each from a random user, until `stop()`. Each user keeps the affinity cookie it is given.
 */
export function drive(base: string, users: User[], { concurrency = 6, path = '/api/x' } = {}): { stop(): Promise<void>; sent: () => number } {
  let running = true;
  let sent = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const worker = async (): Promise<void> => {
    while (running) {
      const user = users[Math.floor(Math.random() * users.length)]!;
      try {
        const reply = await send(base, path, { agent, headers: user.cookie ? { cookie: user.cookie } : {} });
        sent++;
        const set = (reply.headers['set-cookie'] ?? []).find((line) => line.startsWith('sy='));
        if (set) user.cookie = set.split(';')[0];
        if (reply.status === 200 || reply.status === 500) user.seen.push(reply.json<{ backend: string }>().backend);
      } catch {
        // a connection cut by a drain: the next request goes on
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    sent: () => sent,
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
    },
  };
}

export function newUsers(count: number): User[] {
  return Array.from({ length: count }, () => ({ cookie: undefined, seen: [] }));
}
