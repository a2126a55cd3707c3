import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { UpstreamError } from './errors.js';
import type { Outcome } from './stats/server-stats.js';

/**
 * Hooks into a request's way, per balancer and per route (both run: the balancer's first).
 * All are synchronous, so the hot path stays cheap, and all run guarded: a hook that throws
 * fails that one request (502 CALLBACK_FAILED) with one log line, never the process.
 *
 * @example
 * hooks: {
 *   request: ({ headers }) => { headers['x-tenant'] = 'acme'; delete headers.cookie; },
 *   response: ({ headers }) => headers.set('cache-control', 'no-store'),
 *   error: ({ error, res }) => { res.writeHead(error.status).end(`sorry: ${error.code}`); return true; },
 *   finish: (record) => log.info(record),
 * }
 */
export interface Hooks {
  /** Before the request goes upstream (HPM `on.proxyReq`, reply-from `rewriteRequestHeaders`). */
  request?(context: RequestHookContext): void;
  /** Before the response head reaches the client (HPM `on.proxyRes`, reply-from `rewriteHeaders`). */
  response?(context: ResponseHookContext): void;
  /** A request could not be forwarded; write your own answer and return true, or leave it to switchyard. */
  error?(context: ErrorHookContext): boolean | void;
  /** A proxied request has ended, however it ended: one record for access logs and spans. */
  finish?(record: FinishRecord): void;
}

export interface RequestHookContext {
  /** The client's request (its headers are the ones going upstream). */
  readonly req: IncomingMessage;
  /** The headers that go upstream: add, change or delete freely. */
  readonly headers: IncomingHttpHeaders;
  /** The path and query that go upstream, after `stripPrefix` and `rewrite`; assign to change it. */
  path: string;
  readonly pool: string;
  /** The chosen server's id (never its address). */
  readonly server: string;
  readonly requestId: string | undefined;
}

export interface ResponseHookContext {
  readonly req: IncomingMessage;
  readonly status: number;
  /** The response headers the client gets: get, set, append, delete. */
  readonly headers: ResponseHeaders;
  readonly pool: string;
  readonly server: string;
  readonly requestId: string | undefined;
}

export interface ErrorHookContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Code, status and pool; never a server address, so it is safe to show. */
  readonly error: UpstreamError;
}

/** One finished proxied request, as `hooks.finish` and the `switchyard:request` diagnostics channel give it. */
export interface FinishRecord {
  readonly pool: string;
  /** The server that answered (or was tried last); undefined when none was chosen. */
  readonly server: string | undefined;
  readonly method: string;
  /** The client's normalised path. */
  readonly path: string;
  /** What the client was sent (0 when the client went away before any answer). */
  readonly status: number;
  /** How it ended for the server: ok, http4xx, http5xx, connect, timeout, reset, invalid, aborted. */
  readonly outcome: Outcome;
  /** The error code when switchyard answered instead of a server: UPSTREAM_CONNECT_FAILED, QUEUE_TIMEOUT, … */
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  /** Servers tried after the first. */
  readonly retries: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Epoch ms when the request reached the balancer. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Waiting for a server that was not full, ms (0 when it did not wait). */
  readonly queueMs: number;
  /** From the request reaching the balancer to the response head, ms; undefined without one. */
  readonly firstByteMs: number | undefined;
}

/** A response's headers as a flat [name, value, …] list, with the few operations hooks need. */
export class ResponseHeaders {
  readonly #list: string[];

  constructor(list: string[]) {
    this.#list = list;
  }

  /** The first value of `name` (case-insensitive), or undefined. */
  get(name: string): string | undefined {
    const wanted = name.toLowerCase();
    for (let i = 0; i < this.#list.length; i += 2) if (this.#list[i]!.toLowerCase() === wanted) return this.#list[i + 1];
    return undefined;
  }

  /** Every value of `name` (Set-Cookie has many). */
  getAll(name: string): string[] {
    const wanted = name.toLowerCase();
    const values: string[] = [];
    for (let i = 0; i < this.#list.length; i += 2) if (this.#list[i]!.toLowerCase() === wanted) values.push(this.#list[i + 1]!);
    return values;
  }

  /** Replace every value of `name` with this one. */
  set(name: string, value: string): this {
    this.delete(name);
    this.#list.push(name, value);
    return this;
  }

  append(name: string, value: string): this {
    this.#list.push(name, value);
    return this;
  }

  delete(name: string): this {
    const wanted = name.toLowerCase();
    for (let i = this.#list.length - 2; i >= 0; i -= 2) if (this.#list[i]!.toLowerCase() === wanted) this.#list.splice(i, 2);
    return this;
  }

  /** [name, value] pairs, in order. */
  entries(): Array<[string, string]> {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < this.#list.length; i += 2) pairs.push([this.#list[i]!, this.#list[i + 1]!]);
    return pairs;
  }
}
