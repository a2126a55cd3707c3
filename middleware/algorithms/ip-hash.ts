import { ConsistentHash } from './consistent-hash.js';

/**
 * The same client goes to the same server, for NGINX users: consistent-hash without the
 * load bound (c = Infinity). The key is `context.hashKey ?? context.clientAddress`; when one
 * of N servers leaves, only its ~1/N of clients move, and a server that is out only passes
 * its clients on to the next on the table until it is back.
 *
 * @example
 * const ipHash = createIpHash();
 * ipHash.update(viewOf(servers), 'members');
 * ipHash.pick(servers, { clientAddress: '203.0.113.7', now: Date.now() });
 */
export function createIpHash(): ConsistentHash {
  return new ConsistentHash({ name: 'ip-hash', balanceFactor: Infinity });
}
