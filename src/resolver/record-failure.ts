/**
 * What the resolver records in upstream health: a failed attempt (counted, and said once), a late outcome of a
 * hedged attempt, and failed connects no query waited for.
 */
import { describeCause, isRetryable, QueryTimeoutError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Upstream, UpstreamAnswer } from '../upstream/upstream.js';
import type { Entry } from './attempt.js';

/** Each attempt but the last gets half the time left, and at least this much, so a stall leaves room to fail over. */
export const MIN_ATTEMPT_MS = 1000;

/**
 * Whether a failure says something about the upstream. A timeout in the last moments of a query's
 * deadline (a short budget: the query had failed over or been requeued already) does not: counting it
 * backed off upstreams that answered everything they had time for, and a probe with 20 ms left would
 * extend a backoff.
 */
export function countsAgainst(budgetMs: number, failure: unknown, timeoutMs: number): boolean {
  if (!(failure instanceof QueryTimeoutError)) return true;
  return budgetMs >= Math.min(MIN_ATTEMPT_MS, timeoutMs / 2);
}

/**
 * Counts `upstream`'s failed connects against its current entry (`entryOf`), also those no query waited
 * for: one opened ahead of queries (at start, after a network change) or one that outlived the query that
 * started it (a hanging connect outlasts the attempt's budget, which then fails as a soft timeout). Without
 * this, an upstream whose connects fail by themselves stayed "healthy" and the next query waited on it
 * again. A connect that also fails a waiting query is counted once: the backoff it starts stands for both.
 */
export function watchConnects(
  upstream: Upstream,
  entryOf: () => Entry | undefined,
  clock: Clock,
  logger: Logger,
): void {
  upstream.onConnectFailure?.((err) => {
    const entry = entryOf();
    if (entry !== undefined && isRetryable(err)) recordFailure(entry, err, true, clock, logger);
  });
}

/**
 * An attempt that ended after its query had been answered (a hedged one, resolver/hedge.ts): an answer is
 * a success of the upstream, a failure counts as any other; the client heard already, so nothing else.
 */
export function recordLate(
  entry: Entry,
  outcome: UpstreamAnswer | Error,
  counts: boolean,
  clock: Clock,
  logger: Logger,
): void {
  if (outcome instanceof Error) recordFailure(entry, outcome, counts, clock, logger);
  else entry.health.succeeded();
}

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
