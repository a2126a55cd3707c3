import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer } from '../middleware/balancer.js';
import type { AuditLog } from './audit.js';
import type { History } from './history.js';
import { HttpError } from './http.js';
import { dashboardView } from './view-model.js';
import { fleetView } from './fleet-view.js';

/** Audit entries a page shows. */
export const AUDIT_ON_PAGE = 50;

interface Client {
  res: ServerResponse;
  /** The newest audit entry this client has; it gets the log again only when that changes. */
  auditSeq: number;
  /** The socket's buffer is full: skip updates until it drains rather than queue them. */
  blocked: boolean;
}

/**
 * Live updates over Server-Sent Events (`GET events`): every open dashboard gets the view
 * every `intervalMs` and at once after each `change` event or audit entry. The timer and the
 * balancer listener exist only while at least one dashboard is open.
 */
export class EventHub {
  readonly #balancer: Balancer;
  readonly #audit: AuditLog;
  readonly #history: History;
  readonly #intervalMs: number;
  readonly #maxStreams: number;
  #clients = new Set<Client>();
  #timer: NodeJS.Timeout | undefined;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(balancer: Balancer, audit: AuditLog, history: History, { intervalMs, maxStreams }: { intervalMs: number; maxStreams: number }) {
    this.#balancer = balancer;
    this.#audit = audit;
    this.#history = history;
    this.#intervalMs = intervalMs;
    this.#maxStreams = maxStreams;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Answer `GET events`: a stream that starts with the full view, audit log included. */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= this.#maxStreams) throw new HttpError(503, 'too many open dashboards', { 'Retry-After': '10' });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx would otherwise hold the stream back
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const client: Client = { res, auditSeq: -1, blocked: false };
    res.on('drain', () => (client.blocked = false));
    res.on('close', () => this.#remove(client));
    if (this.#clients.size === 0) this.#start();
    this.#clients.add(client);
    res.write(`retry: 2000\n\n`);
    this.#push([client]);
  }

  /** Push to every open dashboard now (well, on the next turn, so that a burst sends once). */
  nudge(): void {
    if (this.#clients.size === 0 || this.#scheduled) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#push(this.#clients);
    });
  }

  /** End every stream and stop updating (the dashboard's `close()`). */
  close(): void {
    for (const client of [...this.#clients]) client.res.end();
    this.#clients.clear();
    this.#stop();
  }

  #start(): void {
    this.#balancer.on('change', this.#onChange);
    this.#balancer.on('health', this.#onChange);
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #stop(): void {
    this.#balancer.off('change', this.#onChange);
    this.#balancer.off('health', this.#onChange);
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  #remove(client: Client): void {
    if (this.#clients.delete(client) && this.#clients.size === 0) this.#stop();
  }

  #onChange = (): void => this.nudge();

  #tick(): void {
    this.#history.record(this.#balancer.snapshot());
    this.#push(this.#clients);
  }

  #push(clients: Iterable<Client>): void {
    const snapshot = this.#balancer.snapshot();
    const seq = this.#audit.seq;
    const fleet = fleetView(this.#balancer);
    let plain: string | undefined;
    let withAudit: string | undefined;
    for (const client of clients) {
      if (client.blocked) continue;
      let data: string;
      if (client.auditSeq !== seq) {
        withAudit ??= JSON.stringify(dashboardView(snapshot, this.#history, this.#audit.recent(AUDIT_ON_PAGE), seq, fleet));
        data = withAudit;
        client.auditSeq = seq;
      } else {
        plain ??= JSON.stringify(dashboardView(snapshot, this.#history, null, seq, fleet));
        data = plain;
      }
      if (!client.res.write(`event: snapshot\ndata: ${data}\n\n`)) client.blocked = true;
    }
  }
}
