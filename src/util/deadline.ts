/**
 * A query's deadline as the upstreams see it: the part of AbortSignal they use (`aborted` and one 'abort'
 * listener), without an AbortController per query. The profile of the forwarding path had
 * AbortController/AbortSignal construction and EventTarget listeners at about 8% of the daemon's CPU; this
 * costs one object and one timer. The timer is a plain Node timer on the injected clock: Node keeps timers
 * of equal duration in one list under one native timer, so equal budgets (see `ceil` below) share it.
 */
import type { Clock, Timer } from './clock.js';

/** What the upstream code needs of a cancellation signal; AbortSignal satisfies it too. */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class QueryDeadline implements AbortLike {
  #aborted = false;
  #listeners: (() => void)[] = [];
  readonly #timer: Timer;

  constructor(clock: Clock, ms: number) {
    // Whole milliseconds: Node groups timers by duration, and fractional budgets would each get a list.
    this.#timer = clock.setTimeout(
      () => {
        this.#abort();
      },
      Math.max(1, Math.ceil(ms)),
    );
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Listeners run once, when the deadline passes (AbortSignal's `once` semantics). */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.#listeners.indexOf(listener);
    if (at >= 0) this.#listeners.splice(at, 1);
  }

  /** The query is over: the timer goes, and no listener will run. */
  clear(): void {
    this.#timer.clear();
    this.#listeners.length = 0;
  }

  #abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }
}
