/**
 * Counts failed logins per client address in fixed windows. Past `max` failures the address
 * is refused until its window ends, right credentials or not, so guessing stays slow.
 */
export class LoginLimiter {
  readonly max: number;
  readonly windowMs: number;
  readonly #tracked: number;
  #failures = new Map<string, { count: number; resetAt: number }>();

  /** `tracked` bounds memory when many addresses fail (a spray from many hosts). */
  constructor(max: number, windowMs: number, tracked = 10_000) {
    this.max = max;
    this.windowMs = windowMs;
    this.#tracked = tracked;
  }

  /** Milliseconds until this address may try again; 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    const entry = this.#failures.get(address);
    if (!entry) return 0;
    if (now >= entry.resetAt) {
      this.#failures.delete(address);
      return 0;
    }
    return entry.count >= this.max ? entry.resetAt - now : 0;
  }

  fail(address: string, now = Date.now()): void {
    const entry = this.#failures.get(address);
    if (entry && now < entry.resetAt) {
      entry.count++;
      return;
    }
    this.#failures.delete(address);
    if (this.#failures.size >= this.#tracked) this.#prune(now);
    this.#failures.set(address, { count: 1, resetAt: now + this.windowMs });
  }

  /** A good login forgets earlier typos. */
  succeed(address: string): void {
    this.#failures.delete(address);
  }

  #prune(now: number): void {
    for (const [address, entry] of this.#failures) if (now >= entry.resetAt) this.#failures.delete(address);
    // still full: drop the oldest windows (a Map iterates in insertion order)
    for (const address of this.#failures.keys()) {
      if (this.#failures.size < this.#tracked) break;
      this.#failures.delete(address);
    }
  }
}
