// A Clock (src/util/clock.ts) that moves only when the test says so: backoff, idle and deadline logic run
// on it without real waiting, and a test can count how many timers fired over a stretch of time.
import type { Clock, Timer } from '../../src/util/clock.js';

interface Pending {
  at: number;
  fn: () => void;
  armed: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  readonly #timers = new Set<Pending>();
  /** Timer callbacks run so far. */
  fired = 0;

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return [...this.#timers].filter((t) => t.armed).length;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry: Pending = { at: this.#now + ms, fn, armed: true };
    this.#timers.add(entry);
    return {
      clear: () => {
        entry.armed = false;
        this.#timers.delete(entry);
      },
      refresh: (next: number) => {
        entry.at = this.#now + next;
        entry.armed = true;
        this.#timers.add(entry);
      },
    };
  }

  /** Moves time forward by `ms`, firing due timers in time order (a timer armed meanwhile may fire too). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const t of this.#timers)
        if (t.armed && t.at <= target && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      next.armed = false;
      this.#timers.delete(next);
      this.fired++;
      next.fn();
    }
    this.#now = target;
  }
}
