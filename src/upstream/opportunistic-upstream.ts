/**
 * An upstream in the Opportunistic profile (RFC 8310 sec. 5): TLS (authenticated if it can be, encrypted
 * anyway), and clear DNS to port 53 of the same server only while TLS cannot be set up at all. While in
 * clear, TLS is probed again on a backoff timer and queries move back to it as soon as it works: the
 * re-upgrade that systemd-resolved users miss (systemd#36708).
 */
import { ConnectError, ConnectTimeoutError, describeCause } from '../errors.js';
import type { ParsedMessage } from '../dns/wire.js';
import { DEFAULT_BACKOFF, nextDelayMs, type BackoffPolicy } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { TlsUpstream } from './tls-upstream.js';
import type { PrivacyLevel } from './usage-profile.js';
import type { ExchangeOptions, Upstream, UpstreamAnswer, UpstreamSpec } from './upstream.js';

export interface OpportunisticCounters {
  /** Times TLS could not be set up and the upstream went to clear text. */
  downgrades: number;
  /** Times TLS worked again after clear text. */
  upgrades: number;
  /** Queries answered in clear text. */
  clearQueries: number;
}

export interface OpportunisticOptions {
  readonly tls: TlsUpstream;
  readonly clear: Upstream;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Delays between TLS probes while in clear. @default 1 s doubling to 60 s */
  readonly backoff?: BackoffPolicy;
  /** The longest a probe may take. @default 3000 */
  readonly probeTimeoutMs?: number;
}

/** Failures that mean TLS could not be set up at all: refused, reset, handshake error or timeout. */
function isTlsSetupFailure(err: unknown): boolean {
  return err instanceof ConnectError || err instanceof ConnectTimeoutError;
}

export class OpportunisticUpstream implements Upstream {
  readonly id: string;
  readonly spec: UpstreamSpec;
  readonly counters: OpportunisticCounters = { downgrades: 0, upgrades: 0, clearQueries: 0 };
  readonly #options: OpportunisticOptions;
  #inClear = false;
  #probes = 0;
  #nextProbeAt = 0;
  #probing = false;
  #downgradeCause: Error | undefined;

  constructor(options: OpportunisticOptions) {
    this.#options = options;
    this.id = options.tls.id;
    this.spec = options.tls.spec;
    // A TLS connect that fails after the query that started it gave up still means TLS is down.
    options.tls.onConnectFailure((err) => {
      if (isTlsSetupFailure(err)) this.#downgrade(err);
    });
  }

  get privacy(): PrivacyLevel {
    return this.#inClear ? 'clear' : this.#options.tls.privacy;
  }

  get inClear(): boolean {
    return this.#inClear;
  }

  /** True while a TLS re-upgrade probe runs. */
  get probing(): boolean {
    return this.#probing;
  }

  /** Why TLS could not be set up, the last time the upstream went to clear text. */
  get downgradeCause(): Error | undefined {
    return this.#downgradeCause;
  }

  /** Clock time of the next TLS probe while in clear text. */
  get nextProbeAt(): number {
    return this.#nextProbeAt;
  }

  get tls(): TlsUpstream {
    return this.#options.tls;
  }

  /** In clear text a query needs no connect (UDP); else whether a TLS connection is up. */
  ready(): boolean {
    return this.#inClear || this.#options.tls.ready();
  }

  async exchange(query: Buffer, msg: ParsedMessage, options: ExchangeOptions): Promise<UpstreamAnswer> {
    if (!this.#inClear) {
      try {
        return await this.#options.tls.exchange(query, msg, options);
      } catch (err) {
        // The connect-failure listener has already switched to clear text for setup failures.
        if (!isTlsSetupFailure(err)) throw err;
      }
    }
    this.#maybeProbe();
    this.counters.clearQueries++;
    return this.#options.clear.exchange(query, msg, options);
  }

  #downgrade(cause: unknown): void {
    if (this.#inClear) return;
    this.#inClear = true;
    this.#downgradeCause = cause instanceof Error ? cause : new Error(String(cause));
    this.counters.downgrades++;
    this.#probes = 0;
    this.#scheduleProbe();
    this.#options.logger.rateLimited(
      'warn',
      `downgrade:${this.id}`,
      10_000,
      'TLS could not be set up: answering in CLEAR TEXT, NOT PRIVATE (Opportunistic profile)',
      {
        upstream: this.id,
        clear: this.#options.clear.id,
        cause: describeCause(cause),
      },
    );
  }

  #scheduleProbe(): void {
    this.#nextProbeAt =
      this.#options.clock.now() + nextDelayMs(++this.#probes, this.#options.backoff ?? DEFAULT_BACKOFF);
  }

  /** At most one probe at a time, and only when due; it runs beside the query, which goes out in clear. */
  #maybeProbe(): void {
    if (!this.#inClear || this.#probing || this.#options.clock.now() < this.#nextProbeAt) return;
    this.#probing = true;
    const controller = new AbortController();
    const timer = this.#options.clock.setTimeout(() => {
      controller.abort();
    }, this.#options.probeTimeoutMs ?? 3000);
    this.#options.tls
      .warm(controller.signal)
      .then(
        () => {
          this.#inClear = false;
          this.counters.upgrades++;
          this.#options.logger.warn('TLS works again: queries are private again', { upstream: this.id });
        },
        () => {
          this.#scheduleProbe();
        },
      )
      .finally(() => {
        timer.clear();
        this.#probing = false;
      });
  }

  /** Drops stale TLS connections and, if in clear, probes TLS again at once: the new network may allow it. */
  resetConnections(): void {
    this.#options.tls.resetConnections();
    this.#probes = 0;
    this.#nextProbeAt = 0;
  }

  async close(): Promise<void> {
    await Promise.all([this.#options.tls.close(), this.#options.clear.close()]);
  }

  destroy(err?: Error): void {
    this.#options.tls.destroy(err);
    this.#options.clear.destroy(err);
  }
}
