/** What an operator did through the dashboard. */
export type AuditAction = 'weight' | 'drain' | 'enable' | 'disable' | 'add' | 'remove';

/** One line of the audit log: who, what, when, before and after. */
export interface AuditEntry {
  /** Increasing from 1 for the dashboard's lifetime, so readers can tell what is new. */
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  /** The authenticated user ("anonymous" when `insecure`). */
  user: string;
  /** The client's address, as the login limiter counts it. */
  address: string;
  action: AuditAction;
  pool: string;
  server: string;
  before: unknown;
  after: unknown;
}

/** A bounded, in-memory audit log: the oldest entries go first once `size` is reached. */
export class AuditLog {
  readonly size: number;
  #entries: AuditEntry[] = [];
  #seq = 0;
  #onEntry: ((entry: AuditEntry) => void) | null;

  constructor(size: number, onEntry: ((entry: AuditEntry) => void) | null = null) {
    this.size = size;
    this.#onEntry = onEntry;
  }

  /** Sequence number of the newest entry; 0 while the log is empty. */
  get seq(): number {
    return this.#seq;
  }

  record(entry: Omit<AuditEntry, 'seq' | 'at'>, at = Date.now()): AuditEntry {
    const full = Object.freeze({ seq: ++this.#seq, at, ...entry });
    this.#entries.push(full);
    // a ring would avoid the shift, but at ~1 entry per operator click the copy costs nothing
    if (this.#entries.length > this.size) this.#entries.shift();
    this.#onEntry?.(full);
    return full;
  }

  /** Newest first, at most `limit`. */
  recent(limit = this.size): AuditEntry[] {
    return this.#entries.slice(-limit).reverse();
  }
}
