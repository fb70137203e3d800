/**
 * One timer that fires when a limit counted from the last activity is reached (a connection's stall or idle
 * limit), without touching the timer on every activity: touch() only records the time, the timer checks it
 * when it fires and re-arms for the rest. A clearTimeout and a setTimeout per query and per answer were a
 * visible cost of the forwarding path; now the timer moves only when it must fire earlier (fireBy).
 */
import type { Clock, Timer } from './clock.js';

export class ActivityTimer {
  readonly #clock: Clock;
  readonly #timer: Timer;
  #lastActivity: number;
  /** When the timer fires next. */
  #due: number;

  constructor(clock: Clock, firstMs: number, fire: () => void) {
    this.#clock = clock;
    this.#lastActivity = clock.now();
    this.#due = this.#lastActivity + firstMs;
    this.#timer = clock.setTimeout(fire, firstMs);
  }

  touch(now: number): void {
    this.#lastActivity = now;
  }

  /** Makes the timer fire `ms` after the last activity at the latest (the limit just got shorter). */
  fireBy(ms: number): void {
    const now = this.#clock.now();
    const due = this.#lastActivity + ms;
    if (due >= this.#due && this.#due > now) return;
    this.#due = due;
    this.#timer.refresh(Math.max(1, due - now));
  }

  /** For the fire callback: true once `ms` have passed since the last activity, else re-armed for then. */
  expired(ms: number): boolean {
    const now = this.#clock.now();
    const due = this.#lastActivity + ms;
    if (now >= due) return true;
    this.#due = due;
    this.#timer.refresh(Math.max(1, due - now));
    return false;
  }

  clear(): void {
    this.#timer.clear();
  }
}
