// A Clock whose time moves only when the test says so; due timers fire in order on advance().
import type { Clock, Timer } from '../../src/util/clock.js';

interface Pending {
  at: number;
  fn: () => void;
  live: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  readonly #pending = new Set<Pending>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry: Pending = { at: this.#now + ms, fn, live: true };
    this.#pending.add(entry);
    return {
      clear: () => {
        entry.live = false;
        this.#pending.delete(entry);
      },
      refresh: (next: number) => {
        entry.at = this.#now + next;
        entry.live = true;
        this.#pending.add(entry);
      },
    };
  }

  /** Moves time forward by `ms`, firing every timer that comes due, earliest first. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending) if (p.at <= target && (next === undefined || p.at < next.at)) next = p;
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      this.#pending.delete(next);
      next.live = false;
      next.fn();
    }
    this.#now = target;
  }

  get pendingTimers(): number {
    return this.#pending.size;
  }
}
