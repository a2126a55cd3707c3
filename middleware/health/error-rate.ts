/** Slots a window is cut into: the window slides in steps of a tenth. */
const SLOTS = 10;

/**
 * One server's failures and requests over a sliding window (Envoy's failure_percentage outlier
 * detection), in fixed slots so that counting is O(1) and allocation-free; the rate is summed
 * only when a failure asks whether to eject.
 */
export class ErrorRateWindow {
  readonly #slotMs: number;
  readonly #requests = new Uint32Array(SLOTS);
  readonly #failures = new Uint32Array(SLOTS);
  readonly #starts = new Float64Array(SLOTS);

  constructor(windowMs: number) {
    this.#slotMs = windowMs / SLOTS;
  }

  record(failed: boolean, now: number): void {
    const slot = Math.floor(now / this.#slotMs);
    const index = slot % SLOTS;
    if (this.#starts[index] !== slot) {
      this.#starts[index] = slot;
      this.#requests[index] = 0;
      this.#failures[index] = 0;
    }
    this.#requests[index]!++;
    if (failed) this.#failures[index]!++;
  }

  /** Requests and failures within the window ending now. */
  totals(now: number): { requests: number; failures: number } {
    const current = Math.floor(now / this.#slotMs);
    let requests = 0;
    let failures = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (current - this.#starts[i]! >= SLOTS) continue;
      requests += this.#requests[i]!;
      failures += this.#failures[i]!;
    }
    return { requests, failures };
  }

  clear(): void {
    this.#starts.fill(-SLOTS);
  }
}
