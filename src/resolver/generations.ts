/**
 * Which configuration each query in progress started under, so that a reload can wait for the queries
 * that could still pick an upstream it removed: a count for the current configuration, one for all the
 * earlier ones together, and who waits for the latter to reach zero.
 */
export class Generations {
  /** The current configuration's number: a query keeps the one it started under. */
  #current = 0;
  #inCurrent = 0;
  #inOlder = 0;
  #waiters: (() => void)[] = [];

  /** A query starts: returns the generation it belongs to. */
  started(): number {
    this.#inCurrent++;
    return this.#current;
  }

  /** A query of `generation` is over. */
  finished(generation: number): void {
    if (generation === this.#current) this.#inCurrent--;
    else if (--this.#inOlder === 0) for (const wake of this.#waiters.splice(0)) wake();
  }

  /** A new configuration: the queries in progress now belong to an older one. */
  advance(): void {
    this.#inOlder += this.#inCurrent;
    this.#inCurrent = 0;
    this.#current++;
  }

  /** Resolves once every query that started before the last advance() has finished. */
  drained(): Promise<void> {
    if (this.#inOlder === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
