/** Time source for every timer and timestamp, so backoff, idle and deadline logic run on a manual clock in tests. */
import { performance } from 'node:perf_hooks';
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

export interface Timer {
  clear(): void;
  /** Re-arms the same timer for `ms` from now (undici-style refresh instead of re-creating it). */
  refresh(ms: number): void;
}

class NodeTimer implements Timer {
  #handle: ReturnType<typeof setTimeout> | undefined;
  readonly #fn: () => void;
  constructor(fn: () => void, ms: number) {
    this.#fn = fn;
    this.refresh(ms);
  }
  clear(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
  }
  refresh(ms: number): void {
    this.clear();
    // Timers never keep the process alive: a daemon stops when its sockets close.
    this.#handle = setTimeout(this.#fn, ms).unref();
  }
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => new NodeTimer(fn, ms),
};
