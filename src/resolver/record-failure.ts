/** What the resolver does with one failed attempt: count it against the upstream's health, and say so once. */
import { describeCause, isRetryable } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Entry } from './attempt.js';

/**
 * Records `err` against the upstream (backing it off when due; not when `counts` is false) and returns
 * it as an Error.
 */
export function recordFailure(
  entry: Entry,
  err: unknown,
  counts: boolean,
  clock: Clock,
  logger: Logger,
): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  if (!isRetryable(error)) {
    logger.error('unexpected failure forwarding a query', {
      upstream: entry.upstream.id,
      cause: describeCause(error),
    });
    return error;
  }
  if (counts && entry.health.failed(error, clock.now())) {
    const state = entry.health.state;
    const waitMs = state.kind === 'backingOff' ? state.until - clock.now() : 0;
    // One line per upstream per backoff step: while every upstream is down, probes are promoted about once
    // a second, so a fixed interval would log that often for the whole outage (openwrt/packages#13726).
    logger.rateLimited(
      'warn',
      `backoff:${entry.upstream.id}`,
      Math.max(1000, waitMs),
      'upstream failed; backing off',
      {
        upstream: entry.upstream.id,
        retry_in_s: (waitMs / 1000).toFixed(1),
        cause: error.message,
      },
    );
  } else {
    logger.debug('upstream attempt failed', { upstream: entry.upstream.id, cause: error.message });
  }
  return error;
}
