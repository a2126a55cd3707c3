import type { SafeLogger } from './logger.js';

/**
 * The one place user code runs from the library: custom algorithms, hooks, hash and cohort
 * keys, `change` listeners, checks. A throw (or a rejection) fails the one request or probe that
 * called it and is logged once per call site and minute; it never reaches the process.
 */
export class Guard {
  readonly #logger: SafeLogger;
  /** Call site → when it last logged, so that a callback throwing on every request logs a line a minute. */
  readonly #lastLogged = new Map<string, number>();

  constructor(logger: SafeLogger) {
    this.#logger = logger;
  }

  /** Run `fn`; on a throw log it under `site` and return `fallback`. */
  run<T, F>(site: string, fn: () => T, fallback: F): T | F {
    try {
      return fn();
    } catch (error) {
      this.report(site, error);
      return fallback;
    }
  }

  /** Log a callback's failure (rate-limited per site). */
  report(site: string, error: unknown, fields?: Record<string, unknown>): void {
    const now = Date.now();
    const last = this.#lastLogged.get(site);
    if (last !== undefined && now - last < 60_000) return;
    this.#lastLogged.set(site, now);
    this.#logger.error(`${site} threw; the request or check that called it failed`, { ...fields, error: describeError(error) });
  }
}

/** A short, safe description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return 'an unprintable value';
  }
}
