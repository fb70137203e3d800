/** Which upstreams one query tries, and in what order: pure functions over the resolver's entries. */
import { PRIVACY_LEVELS } from '../upstream/usage-profile.js';
import type { Entry } from './attempt.js';
import type { QueryRouter } from './query-router.js';

/**
 * The entries with a route, or all of them when none has one: the route probe may be stale (routes come
 * back between polls). Allocates only when some upstream is unreachable: this runs for every query.
 */
export function withRoute(pool: readonly Entry[], router: QueryRouter | undefined): readonly Entry[] {
  if (router === undefined || allReachable(pool, router)) return pool;
  const routed = pool.filter((e) => router.reachable(e.upstream));
  return routed.length > 0 ? routed : pool;
}

/** A loop, not every(): a callback would close over the router, one more allocation for every query. */
function allReachable(pool: readonly Entry[], router: QueryRouter): boolean {
  for (const e of pool) if (!router.reachable(e.upstream)) return false;
  return true;
}

/**
 * The usable entries (not backing off, or due a probe), from `start` round, most private first: RFC 8310
 * sec. 5, authenticated TLS before encrypted-only, before clear, before the fallback servers. The sort is
 * stable, so the strategy's order holds among equals, and it runs only when the levels differ.
 */
export function usableInOrder(entries: readonly Entry[], start: number, now: number): Entry[] {
  // Filled by index, not push: an array grown from [] by push reserves 17 slots, for every query.
  const out: Entry[] = new Array<Entry>(entries.length);
  let n = 0;
  let mixed = false;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[(start + i) % entries.length];
    if (entry === undefined || entry.health.check(now) === 'skip') continue;
    if (n > 0 && entry.upstream.privacy !== out[0]?.upstream.privacy) mixed = true;
    out[n++] = entry;
  }
  out.length = n;
  if (mixed)
    out.sort(
      (a, b) => PRIVACY_LEVELS.indexOf(a.upstream.privacy) - PRIVACY_LEVELS.indexOf(b.upstream.privacy),
    );
  return out;
}

/** The entry whose backoff ends first, if any is backing off. */
export function soonestBackingOff(entries: readonly Entry[]): Entry | undefined {
  let soonest: Entry | undefined;
  for (const entry of entries) {
    const state = entry.health.state;
    if (state.kind !== 'backingOff') continue;
    const best = soonest?.health.state;
    if (best?.kind !== 'backingOff' || state.until < best.until) soonest = entry;
  }
  return soonest;
}
