import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import { serverToken, type SigningKey } from './cookie-value.js';

/**
 * One pool's server tokens, both ways: token (under any accepted secret) → server id, and
 * server id → token under the current secret. Rebuilt when the pool's membership array changes
 * identity, which it does only when a server joins or leaves.
 */
export class TokenIndex {
  readonly #pool: Pool;
  readonly #keys: readonly SigningKey[];
  #builtFor: readonly Server[] | undefined;
  /** Keyed by the token's bytes as a latin1 string: a cheap, exact Map key. */
  #byToken = new Map<string, string>();
  #current = new Map<string, Buffer>();

  /** `keys[0]` is the current secret. */
  constructor(pool: Pool, keys: readonly SigningKey[]) {
    this.#pool = pool;
    this.#keys = keys;
  }

  /** The server id a token names in this pool, if any. */
  serverOf(token: Buffer): string | undefined {
    this.#fresh();
    return this.#byToken.get(token.toString('latin1'));
  }

  /** The token for `serverId` under the current secret. */
  tokenOf(serverId: string): Buffer {
    this.#fresh();
    let token = this.#current.get(serverId);
    if (!token) this.#current.set(serverId, (token = serverToken(this.#keys[0]!, this.#pool.name, serverId)));
    return token;
  }

  #fresh(): void {
    const members = this.#pool.servers;
    if (members === this.#builtFor) return;
    this.#builtFor = members;
    this.#byToken.clear();
    this.#current.clear();
    for (const server of this.#pool.servers) {
      this.#keys.forEach((key, i) => {
        const token = serverToken(key, this.#pool.name, server.id);
        this.#byToken.set(token.toString('latin1'), server.id);
        if (i === 0) this.#current.set(server.id, token);
      });
    }
  }
}
