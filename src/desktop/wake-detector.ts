/**
 * Notices that the machine slept. The monotonic clock (performance.now: CLOCK_MONOTONIC on Linux,
 * mach_absolute_time on macOS) stands still while the machine is suspended, the wall clock does not, so
 * between two ticks of a periodic timer the wall clock runs ahead by about the time spent asleep. A jump
 * beyond the threshold means a wake; a small drift (NTP slewing, a busy event loop, which delays both
 * clocks alike) does not. A large NTP step also looks like a wake: harmless, it only costs a reconnect.
 */
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock, type Timer } from '../util/clock.js';

export interface WakeDetectorOptions {
  /** Called once per detected wake with the time the machine was away. */
  readonly onWake: (sleptMs: number) => void;
  /** Wall clock in ms. @default Date.now */
  readonly wallNow?: () => number;
  /** Monotonic clock in ms. @default performance.now */
  readonly monoNow?: () => number;
  /** Timer source for the periodic check. @default systemClock (unref'd timers) */
  readonly clock?: Clock;
  /** @default 5000 */
  readonly intervalMs?: number;
  /** A wall-clock lead beyond this between two checks means the machine slept. @default 10000 */
  readonly thresholdMs?: number;
}

export class WakeDetector {
  readonly #options: WakeDetectorOptions;
  readonly #wallNow: () => number;
  readonly #monoNow: () => number;
  #lastWall: number;
  #lastMono: number;
  #timer: Timer | undefined;

  constructor(options: WakeDetectorOptions) {
    this.#options = options;
    this.#wallNow = options.wallNow ?? Date.now;
    this.#monoNow = options.monoNow ?? (() => performance.now());
    this.#lastWall = this.#wallNow();
    this.#lastMono = this.#monoNow();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const interval = this.#options.intervalMs ?? 5000;
    this.#timer = (this.#options.clock ?? systemClock).setTimeout(() => {
      this.check();
      this.#timer?.refresh(interval);
    }, interval);
  }

  stop(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }

  /** Compares both clocks with the last check; returns the time slept when it reports a wake. */
  check(): number | undefined {
    const wall = this.#wallNow();
    const mono = this.#monoNow();
    const lead = wall - this.#lastWall - (mono - this.#lastMono);
    this.#lastWall = wall;
    this.#lastMono = mono;
    if (lead <= (this.#options.thresholdMs ?? 10_000)) return undefined;
    this.#options.onWake(lead);
    return lead;
  }
}
