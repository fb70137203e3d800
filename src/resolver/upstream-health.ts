/**
 * Health of one upstream: healthy -> backingOff(until) -> probing -> healthy (getdns conn_state, kept apart
 * from connection state). While backing off the upstream is skipped; when the time comes one query probes
 * it, so a dead upstream costs one attempt per backoff step, not one per query. (Other queries join a probe
 * in flight only when no upstream is usable: resolver.ts.)
 */
import {
  AuthenticationError,
  ConnectError,
  ConnectTimeoutError,
  ConnectionClosedError,
  QueryTimeoutError,
} from '../errors.js';
import { DEFAULT_BACKOFF, nextDelayMs, type BackoffPolicy } from '../util/backoff.js';

export type HealthState =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'backingOff'; readonly until: number }
  | { readonly kind: 'probing' };

export type Availability = 'use' | 'probe' | 'skip';

/** One shared object: succeeded() runs for every answer, and need not allocate. */
const HEALTHY: HealthState = { kind: 'healthy' };

/** Consecutive soft failures (timeouts, dropped connections) tolerated before backing off. */
const SOFT_FAILURE_LIMIT = 2;

/** Connect and authentication failures back off at once: retrying them per query only burns time. */
function isHardFailure(err: Error): boolean {
  return (
    err instanceof ConnectError || err instanceof ConnectTimeoutError || err instanceof AuthenticationError
  );
}

export class UpstreamHealth {
  readonly #policy: BackoffPolicy;
  #state: HealthState = HEALTHY;
  #backoffs = 0;
  #softFailures = 0;
  #lastError: Error | undefined;

  constructor(policy: BackoffPolicy = DEFAULT_BACKOFF) {
    this.#policy = policy;
  }

  get state(): HealthState {
    return this.#state;
  }
  get lastError(): Error | undefined {
    return this.#lastError;
  }
  get backoffs(): number {
    return this.#backoffs;
  }

  /** Whether a query may use this upstream now; 'probe' claims the single probe slot. */
  check(now: number): Availability {
    switch (this.#state.kind) {
      case 'healthy':
        return 'use';
      case 'probing':
        return 'skip';
      case 'backingOff':
        return now >= this.#state.until ? this.claimProbe() : 'skip';
    }
  }

  /** Takes the probe slot early (used when every upstream is backing off: stubby promotes the least bad). */
  claimProbe(): Availability {
    this.#state = { kind: 'probing' };
    return 'probe';
  }

  succeeded(): void {
    this.#state = HEALTHY;
    this.#backoffs = 0;
    this.#softFailures = 0;
  }

  /** Records a failure; returns true when it started (or extended) a backoff. */
  failed(err: Error, now: number, random?: () => number): boolean {
    this.#lastError = err;
    // A connection that had been answering and then closed is the server managing its connections
    // (RFC 7766 sec. 6.2.3), not a sick upstream; one that died before any answer is.
    const soft = err instanceof QueryTimeoutError || (err instanceof ConnectionClosedError && !err.reused);
    if (!isHardFailure(err) && !soft) return false;
    // Attempts sent before the backoff began still end after it (a stalled connection's queries time out
    // together): the backoff already stands for them. Only a probe's failure takes the next step, else one
    // burst of a hundred would jump straight to the cap (a minute by default).
    if (this.#state.kind === 'backingOff') return false;
    if (
      soft &&
      this.#state.kind === 'healthy' &&
      ++this.#softFailures < (this.#policy.softFailures ?? SOFT_FAILURE_LIMIT)
    )
      return false;
    this.#backoffs++;
    this.#softFailures = 0;
    this.#state = { kind: 'backingOff', until: now + nextDelayMs(this.#backoffs, this.#policy, random) };
    return true;
  }

  /** Gives back a probe slot that was claimed but not used (the query ended first). */
  releaseProbe(now: number): void {
    if (this.#state.kind === 'probing') this.#state = { kind: 'backingOff', until: now };
  }

  /** Forgets all failures (a network change or wake from sleep makes old failures meaningless). */
  reset(): void {
    this.succeeded();
    this.#lastError = undefined;
  }
}
