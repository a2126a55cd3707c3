/** What every backend answers, so that the harness can check a proxy really proxied. */

/** A small fixed body: 100 bytes. */
export const BACKEND_BODY = `${'x'.repeat(99)}\n`;

/** Response header naming which of the three backends answered (checks round robin). */
export const BACKEND_ID_HEADER = 'x-bench-backend';

/** The line a child prints on stdout once it listens: `READY <payload>`. */
export const READY_PREFIX = 'READY ';
