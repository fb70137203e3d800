/**
 * Callbacks waiting their turn, oldest first, with O(1) add, cancel and wake. The connection pool's
 * waiters were an array with shift() to wake and indexOf() + splice() to leave: under TCP clients holding
 * 3,000 queries in the pool that was quadratic, and `settled` alone was the daemon's hottest function
 * (--cpu-prof: 111 ms self of a 4 s run at dnsperf -m tcp -c 16 -q 2000, 16,400 q/s).
 */
export interface Waiter {
  /** Undefined once woken or cancelled. */
  wake: (() => void) | undefined;
}

/** Consumed entries kept before the array is compacted (a slice of what is still waiting). */
const COMPACT_AFTER = 1024;

export class WaitQueue {
  #entries: Waiter[] = [];
  #head = 0;
  #size = 0;

  /** Waiters neither woken nor cancelled. */
  get size(): number {
    return this.#size;
  }

  add(wake: () => void): Waiter {
    const waiter: Waiter = { wake };
    this.#entries.push(waiter);
    this.#size++;
    return waiter;
  }

  /** Takes `waiter` out of the queue if it is still in it (a no-op after it was woken). */
  cancel(waiter: Waiter): void {
    if (waiter.wake === undefined) return;
    waiter.wake = undefined;
    this.#size--;
  }

  /** Wakes the oldest waiter still waiting, if any. */
  wakeOldest(): void {
    // Nothing waits: the usual case, since every answer calls this (connection-pool.ts settled()).
    if (this.#size === 0) {
      this.#clear();
      return;
    }
    const entries = this.#entries;
    while (this.#head < entries.length) {
      const waiter = entries[this.#head++];
      const wake = waiter?.wake;
      if (waiter === undefined || wake === undefined) continue;
      this.cancel(waiter);
      this.#compact();
      wake();
      return;
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#entries.length) this.#clear();
    else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Empties the array in place. A new [] here was an allocation for every answer (heap profile at the
   * maximum rate: 33 bytes a query), most of them with nothing ever queued.
   */
  #clear(): void {
    if (this.#entries.length > 0) this.#entries.length = 0;
    this.#head = 0;
  }
}
