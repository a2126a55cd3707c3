/**
 * Vose's alias method: after an O(n) build, draws index i with probability weights[i] / sum
 * in O(1) from one random number. Weights must be >= 0 with a positive sum.
 */
export class AliasTable {
  readonly size: number;
  readonly #threshold: Float64Array;
  readonly #alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.size = n;
    this.#threshold = new Float64Array(n);
    this.#alias = new Int32Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i]!;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let smalls = 0;
    let larges = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / sum;
      if (scaled[i]! < 1) small[smalls++] = i;
      else large[larges++] = i;
    }
    while (smalls > 0 && larges > 0) {
      const less = small[--smalls]!;
      const more = large[larges - 1]!;
      this.#threshold[less] = scaled[less]!;
      this.#alias[less] = more;
      scaled[more] = scaled[more]! + scaled[less]! - 1;
      if (scaled[more]! < 1) {
        larges--;
        small[smalls++] = more;
      }
    }
    // what is left is 1 up to rounding
    while (larges > 0) this.#threshold[large[--larges]!] = 1;
    while (smalls > 0) this.#threshold[small[--smalls]!] = 1;
  }

  /** `random` in [0, 1): the column from its integer part, the coin from its fraction. */
  draw(random: number): number {
    const u = random * this.size;
    const i = Math.floor(u);
    return u - i < this.#threshold[i]! ? i : this.#alias[i]!;
  }
}
