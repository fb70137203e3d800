/**
 * Hedging: an attempt that has to wait for a connection to be set up asks the next upstream too after a
 * short wait, instead of holding the query for its whole budget.
 *
 * An attempt gets half the query's time (2.5 s of the default 5 s) before failover, which suits an
 * upstream that is slow to answer but is far too long for one whose connect hangs: a network that routes
 * IPv6 but drops it (common on home and hotel networks) leaves the SYN unanswered until the connect
 * timeout. Every query that found such an upstream first (each probe at the end of a backoff, the first
 * queries after a network change) then waited 2.5 s for an answer another upstream gives in milliseconds.
 * Happy Eyeballs has the same problem and its answer (RFC 8305 sec. 5: start the next connection attempt
 * after a Connection Attempt Delay of 250 ms, without cancelling the first) is the one taken here. Only an
 * attempt with no open connection is hedged: on a connection that is up, a slow answer is the upstream
 * resolving, and asking a second upstream then would double the load for nothing.
 */
import { PRIVACY_LEVELS, type PrivacyLevel } from '../upstream/usage-profile.js';
import type { DeadlineList, Expiring } from '../util/deadline.js';
import type { Logger } from '../util/logger.js';
import type { Attempt } from './attempt.js';

/** RFC 8305 sec. 5's recommended Connection Attempt Delay. */
export const HEDGE_MS = 250;

/** The hedge timer of one attempt (one object, only for attempts that wait on a connect). */
export class Hedge implements Expiring {
  expiresAt = 0;
  older: Expiring | undefined = undefined;
  newer: Expiring | undefined = undefined;
  list: DeadlineList | undefined = undefined;

  constructor(
    readonly attempt: Attempt,
    readonly fire: (attempt: Attempt) => void,
  ) {}

  expire(): void {
    this.fire(this.attempt);
  }
}

/**
 * Whether a hedge may go to an upstream of privacy `next` while one of privacy `current` is connecting:
 * only to one as private or more. Failing over to a less private upstream (RFC 8310 sec. 5) is for when the
 * more private one failed, never for when it is merely setting up its connection.
 */
function mayHedgeTo(current: PrivacyLevel, next: PrivacyLevel): boolean {
  return PRIVACY_LEVELS.indexOf(next) <= PRIVACY_LEVELS.indexOf(current);
}

/** Whether a hedge that fired should start its job's next candidate: the job still waits, and it is as private. */
export function shouldHedge(attempt: Attempt, logger: Logger): boolean {
  const { job, entry } = attempt;
  if (job.over || attempt.ended) return false;
  const next = job.candidates[job.next];
  if (next === undefined || !mayHedgeTo(entry.upstream.privacy, next.upstream.privacy)) return false;
  logger.debug('no connection yet: asking the next upstream too', {
    upstream: entry.upstream.id,
    next: next.upstream.id,
  });
  return true;
}
