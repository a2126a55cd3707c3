import { STATUS_CODES } from 'node:http';
import { rewriteLocation, rewriteSetCookie, type OriginRewrite } from './origin.js';

/** Why a response head cannot be relayed, or undefined when it can. */
export function badStatus(status: number | undefined): string | undefined {
  if (status === undefined || !Number.isInteger(status)) return 'no status';
  // 1xx are interim and handled by Node; a final 101 was never asked for on a plain request
  if (status < 200 && status !== 100) return status === 101 ? 'an unrequested 101 Switching Protocols' : `status ${status}`;
  if (status > 599) return `status ${status}`;
  if (status === 100) return 'a final 100';
  return undefined;
}

/** Reason phrases with control bytes would make `writeHead` throw: use the standard one instead. */
export function safeReason(status: number, message: string | undefined): string | undefined {
  if (message === undefined || /^[\t\x20-\x7e\x80-\xff]*$/.test(message)) return message;
  return STATUS_CODES[status] ?? '';
}

/**
 * Rewrite the origin-bound headers (Location, Content-Location, Set-Cookie) in place, from the
 * server's address and base path to the client's (see origin.ts). `at` holds their positions.
 */
export function rewriteOriginBound(headers: string[], at: readonly number[], rewrite: OriginRewrite): void {
  for (const i of at) {
    const value = headers[i + 1]!;
    headers[i + 1] = headers[i]!.length === 10 ? rewriteSetCookie(value, rewrite) : rewriteLocation(value, rewrite);
  }
}
