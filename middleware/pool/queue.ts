/** A request waiting for a server: the pool admits it to one, or the queue expires it. */
export interface Waiter {
  /** The pool found a server for it (already counted in flight there). */
  admit(server: unknown): void;
  /** It waited `timeoutMs` without a server. */
  expire(): void;
  queuedAt: number;
  queuePrev: Waiter | null;
  queueNext: Waiter | null;
  queued: boolean;
}

/**
 * A pool's bounded FIFO of requests waiting for a server that is not full (HAProxy's queue with
 * `timeout queue`, NGINX Plus's `queue`). Linked through the waiters themselves, so adding and
 * removing cost nothing; one timer, for the oldest waiter, since all share one timeout.
 */
export class RequestQueue {
  readonly size: number;
  readonly timeoutMs: number;
  #head: Waiter | null = null;
  #tail: Waiter | null = null;
  #length = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Waits that ended with a server, for the wait-time figures. */
  #admitted = 0;
  #expired = 0;
  #rejected = 0;
  #waitedMs = 0;
  #maxWaitedMs = 0;

  constructor(size: number, timeoutMs: number) {
    this.size = size;
    this.timeoutMs = timeoutMs;
  }

  get length(): number {
    return this.#length;
  }

  get head(): Waiter | null {
    return this.#head;
  }

  /** Add at the back; false when the queue is full (the caller answers QUEUE_FULL). */
  push(waiter: Waiter, now: number): boolean {
    if (this.#length >= this.size) {
      this.#rejected++;
      return false;
    }
    waiter.queuedAt = now;
    waiter.queued = true;
    waiter.queuePrev = this.#tail;
    waiter.queueNext = null;
    if (this.#tail) this.#tail.queueNext = waiter;
    else this.#head = waiter;
    this.#tail = waiter;
    this.#length++;
    if (this.#length === 1) this.#arm();
    return true;
  }

  /** Take a waiter out (admitted, or its client left). */
  remove(waiter: Waiter): void {
    if (!waiter.queued) return;
    waiter.queued = false;
    const wasHead = waiter === this.#head;
    if (waiter.queuePrev) waiter.queuePrev.queueNext = waiter.queueNext;
    else this.#head = waiter.queueNext;
    if (waiter.queueNext) waiter.queueNext.queuePrev = waiter.queuePrev;
    else this.#tail = waiter.queuePrev;
    waiter.queuePrev = waiter.queueNext = null;
    this.#length--;
    if (wasHead) this.#arm();
  }

  /** Admit the head to `server`. */
  admitHead(server: unknown, now: number): void {
    const waiter = this.#head;
    if (!waiter) return;
    this.remove(waiter);
    const waited = now - waiter.queuedAt;
    this.#admitted++;
    this.#waitedMs += waited;
    if (waited > this.#maxWaitedMs) this.#maxWaitedMs = waited;
    waiter.admit(server);
  }

  /** Expire everything (the pool is closing). */
  clear(): void {
    while (this.#head) this.#expireHead();
  }

  stats(): QueueStats {
    return {
      depth: this.#length,
      size: this.size,
      timeoutMs: this.timeoutMs,
      admitted: this.#admitted,
      expired: this.#expired,
      rejected: this.#rejected,
      meanWaitMs: this.#admitted === 0 ? 0 : Math.round(this.#waitedMs / this.#admitted),
      maxWaitMs: this.#maxWaitedMs,
    };
  }

  #expireHead(): void {
    const waiter = this.#head!;
    this.remove(waiter);
    this.#expired++;
    waiter.expire();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const head = this.#head;
    if (!head) return;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, head.queuedAt + this.timeoutMs - Date.now()));
    this.#timer.unref();
  }

  #sweep(): void {
    const now = Date.now();
    while (this.#head && now - this.#head.queuedAt >= this.timeoutMs) this.#expireHead();
    this.#arm();
  }
}

/** A pool's queue, as `snapshot()` shows it. */
export interface QueueStats {
  /** Waiting now. */
  depth: number;
  size: number;
  timeoutMs: number;
  /** Since start: waits that got a server, that expired (QUEUE_TIMEOUT), and requests refused because the queue was full (QUEUE_FULL). */
  admitted: number;
  expired: number;
  rejected: number;
  meanWaitMs: number;
  maxWaitMs: number;
}
