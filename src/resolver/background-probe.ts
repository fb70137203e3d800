/**
 * Probes that connect in the background: when every upstream is backing off, the one due soonest is probed
 * by opening its connection (Upstream.warm), not by holding a client's query on it.
 *
 * A client query used to be the probe, and every query asked while it was out rode along. Against an
 * upstream that refuses at once that fails fast, but a connect that hangs (a firewall or captive portal
 * dropping port 853, IPv6 routed but dropped) held the probe and every rider for the attempt's budget:
 * during such an outage nearly every query waited 2.5-3 s for its SERVFAIL. Now the probe's connect is
 * the upstream's test, and its outcome goes to health (success: usable again; failure: the next backoff
 * step). The client queries still ride along, for PROBE_WAIT_MS only: an upstream that is back connects
 * within it and answers them; one that does not leaves them a prompt SERVFAIL.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Entry } from './attempt.js';
import { recordFailure } from './record-failure.js';

/** How long a query rides on a probe whose connection is not up yet (hedge.ts's wait, for the same reason). */
export const PROBE_WAIT_MS = 250;

export class BackgroundProbes {
  readonly #warming = new Set<Entry>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** The query timeout, read at each probe: a reload may change it. */
  readonly #timeoutMs: () => number;

  constructor(clock: Clock, logger: Logger, timeoutMs: () => number) {
    this.#clock = clock;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Starts a connect to `entry`'s upstream, which holds its probe slot, when the upstream can open one
   * without a query and has none open; false when it cannot (then a query is the probe, as before).
   */
  start(entry: Entry): boolean {
    const { upstream } = entry;
    if (upstream.warm === undefined || upstream.ready?.() !== false || this.#warming.has(entry)) return false;
    this.#warming.add(entry);
    // The connect has its own timeout; this bounds a wait for a free slot on top of it.
    const controller = new AbortController();
    const timer = this.#clock.setTimeout(() => {
      controller.abort();
    }, this.#timeoutMs());
    upstream
      .warm(controller.signal)
      .then(
        () => {
          entry.health.succeeded();
          this.#logger.info('upstream is back', { upstream: upstream.id });
        },
        (err: unknown) => {
          recordFailure(entry, err, true, this.#clock, this.#logger);
        },
      )
      .finally(() => {
        timer.clear();
        this.#warming.delete(entry);
      });
    return true;
  }

  /** Whether `entry`'s probe is a connect in progress: queries on it wait PROBE_WAIT_MS at most. */
  holds(entry: Entry): boolean {
    return this.#warming.size > 0 && this.#warming.has(entry);
  }
}
