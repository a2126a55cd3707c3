import { randomBytes } from 'node:crypto';

/**
 * A `Via` token naming this balancer instance (RFC 9110 §7.6.3): a request that comes back with
 * it has gone round a loop (a pool that contains the balancer's own address), and is answered
 * 508 at once instead of opening connection after connection until `connectMs`.
 */
export class LoopGuard {
  readonly token = `switchyard-${randomBytes(6).toString('hex')}`;
  readonly #via = `1.1 ${this.token}`;

  /** Has this request been through this instance already? */
  looped(via: string | string[] | undefined): boolean {
    if (via === undefined) return false;
    return (Array.isArray(via) ? via.join(',') : via).includes(this.token);
  }

  /** The `Via` value to send upstream: the client's hops, then ours. */
  via(existing: string | string[] | undefined): string {
    if (existing === undefined) return this.#via;
    return `${Array.isArray(existing) ? existing.join(', ') : existing}, ${this.#via}`;
  }
}
