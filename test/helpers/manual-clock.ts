// A Clock whose time moves only when a test says so; timers fire in order as it advances.
import type { Clock, Timer } from '../../src/util/clock.js';

interface Pending {
  at: number;
  fn: () => void;
  live: boolean;
}

export class ManualClock implements Clock {
  #now = 1_000_000;
  readonly #timers: Pending[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const pending: Pending = { at: this.#now + ms, fn, live: true };
    this.#timers.push(pending);
    return {
      clear: () => {
        pending.live = false;
      },
      refresh: (again: number) => {
        pending.live = true;
        pending.at = this.#now + again;
        if (!this.#timers.includes(pending)) this.#timers.push(pending);
      },
    };
  }

  /** Moves time forward, firing every live timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#now = due.at;
      due.live = false;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      due.fn();
    }
    this.#now = target;
  }
}
