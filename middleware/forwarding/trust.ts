import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/** Whether the hop at `address`, `hop` steps from us (0: the TCP peer), is a proxy we trust. */
export type Trust = (address: string, hop: number) => boolean;

/**
 * What `trustProxy` accepts: what Express's `trust proxy` accepts. `true` trusts every hop,
 * a number trusts that many hops, addresses and CIDR subnets (`'10.0.0.0/8'`, and the names
 * `loopback`, `linklocal`, `uniquelocal`) trust those, a function decides per hop.
 */
export type TrustProxy = boolean | number | string | readonly string[] | Trust;

/** Express's own compileTrust, so that switchyard and the host app agree on who the client is. */
export function compileTrust(value: TrustProxy): Trust {
  if (typeof value === 'function') return value;
  if (value === true) return () => true;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  const list = typeof value === 'string' ? value.split(',').map((entry) => entry.trim()) : value === false ? [] : [...value];
  return proxyaddr.compile(list);
}

/** Trusts nothing: the default outside Express, and Express's own default. */
export const TRUST_NOTHING: Trust = () => false;

/** The client's address: the peer, or the nearest untrusted hop of X-Forwarded-For. */
export function clientAddressOf(req: IncomingMessage, trust: Trust, peer: string): string {
  if (trust === TRUST_NOTHING || req.headers['x-forwarded-for'] === undefined) return peer;
  const address = proxyaddr(req, trust);
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
