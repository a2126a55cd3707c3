/** Events per second over the last few seconds, in one-second slots: O(1) to record. */
const SLOTS = 11; // ten whole seconds plus the current, partial one

export class RateWindow {
  #counts = new Uint32Array(SLOTS);
  #seconds = new Float64Array(SLOTS);

  record(now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const index = second % SLOTS;
    if (this.#seconds[index] !== second) {
      this.#seconds[index] = second;
      this.#counts[index] = 0;
    }
    this.#counts[index]!++;
  }

  /** Average per second over the last ten whole seconds. */
  perSecond(now = Date.now()): number {
    const current = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < SLOTS; i++) {
      const age = current - this.#seconds[i]!;
      if (age >= 1 && age <= SLOTS - 1) total += this.#counts[i]!;
    }
    return Math.round((total / (SLOTS - 1)) * 10) / 10;
  }
}
