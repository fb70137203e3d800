/**
 * Portal mode (`dotstub portal --for 5m`): for a bounded window, names that would go to the public DoT
 * upstreams go in clear to the network's own resolvers instead, so a hotel or airport login page can be
 * found (systemd#27485: Strict DoT locks the user out of it). Loud on purpose: a warning at the start and
 * every minute. It ends by itself when the window closes (or earlier, when the owner sees a probe say the
 * way out is open), and Strict is back.
 */
import type { Upstream } from '../upstream/upstream.js';
import type { Clock, Timer } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** The longest window one command may open: clear text must not be forgotten on. */
export const MAX_PORTAL_MS = 60 * 60_000;
export const DEFAULT_PORTAL_MS = 5 * 60_000;
const WARN_EVERY_MS = 60_000;

export interface PortalWindow {
  readonly startedAt: number;
  readonly until: number;
  readonly upstreams: readonly Upstream[];
}

export interface PortalState {
  readonly active: boolean;
  /** Wall-clock end of the window (ISO 8601), while active. */
  readonly until?: string | undefined;
  readonly remainingMs?: number | undefined;
  /** The clear-text servers used during the window. */
  readonly servers: readonly string[];
  /** Why the last window ended: 'expired', 'off' (the user), 'portal gone' (the probe). */
  readonly lastEnd?: string | undefined;
}

export class PortalMode {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #onEnd: (window: PortalWindow) => void;
  #window: PortalWindow | undefined;
  #endTimer: Timer | undefined;
  #warnTimer: Timer | undefined;
  #lastEnd: string | undefined;

  constructor(clock: Clock, logger: Logger, onEnd: (window: PortalWindow) => void) {
    this.#clock = clock;
    this.#logger = logger;
    this.#onEnd = onEnd;
  }

  /** The clear-text upstreams while the window is open, else undefined. */
  upstreams(): readonly Upstream[] | undefined {
    const w = this.#window;
    if (w === undefined) return undefined;
    // The timer may lag behind a manual or suspended clock; the window's end is what counts.
    if (this.#clock.now() >= w.until) {
      this.stop('expired');
      return undefined;
    }
    return w.upstreams;
  }

  start(forMs: number, upstreams: readonly Upstream[]): void {
    const previous = this.#window;
    this.#clearTimers();
    const now = this.#clock.now();
    this.#window = { startedAt: now, until: now + forMs, upstreams };
    // A window replaced by a new one hands its upstreams to the owner for closing, unless they are reused.
    if (previous !== undefined && previous.upstreams !== upstreams) this.#onEnd(previous);
    this.#endTimer = this.#clock.setTimeout(() => {
      this.stop('expired');
    }, forMs);
    this.#warn();
    this.#warnTimer = this.#clock.setTimeout(() => {
      this.#warn();
      this.#warnTimer?.refresh(WARN_EVERY_MS);
    }, WARN_EVERY_MS);
  }

  #warn(): void {
    const w = this.#window;
    if (w === undefined) return;
    this.#logger.warn(
      "PORTAL MODE: names go in CLEAR TEXT to the network's resolver, NOT PRIVATE; end it with `dotstub portal --off`",
      {
        servers: w.upstreams.map((u) => u.id).join(','),
        remaining_s: Math.max(0, Math.round((w.until - this.#clock.now()) / 1000)),
      },
    );
  }

  stop(reason: string): boolean {
    const w = this.#window;
    if (w === undefined) return false;
    this.#clearTimers();
    this.#window = undefined;
    this.#lastEnd = reason;
    this.#logger.warn('portal mode ended: Strict again, nothing goes out in clear', { reason });
    this.#onEnd(w);
    return true;
  }

  #clearTimers(): void {
    this.#endTimer?.clear();
    this.#warnTimer?.clear();
    this.#endTimer = undefined;
    this.#warnTimer = undefined;
  }

  state(): PortalState {
    const w = this.upstreams() === undefined ? undefined : this.#window;
    const remainingMs = w === undefined ? undefined : Math.round(w.until - this.#clock.now());
    return {
      active: w !== undefined,
      ...(remainingMs === undefined
        ? {}
        : { remainingMs, until: new Date(Date.now() + remainingMs).toISOString() }),
      servers: w?.upstreams.map((u) => u.id) ?? [],
      ...(this.#lastEnd === undefined ? {} : { lastEnd: this.#lastEnd }),
    };
  }
}
