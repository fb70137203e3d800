/** Which upstreams one query tries, and in what order: pure functions over the resolver's entries. */
import type { Upstream } from '../upstream/upstream.js';
import { PRIVACY_LEVELS } from '../upstream/usage-profile.js';
import type { Entry } from './attempt.js';

/**
 * The entries with a route, or all of them when none has one: the route probe may be stale (routes come
 * back between polls). Allocates only when some upstream is unreachable.
 */
export function withRoute(
  pool: readonly Entry[],
  reachable: ((upstream: Upstream) => boolean) | undefined,
): readonly Entry[] {
  if (reachable === undefined || pool.every((e) => reachable(e.upstream))) return pool;
  const routed = pool.filter((e) => reachable(e.upstream));
  return routed.length > 0 ? routed : pool;
}

/**
 * The usable entries (not backing off, or due a probe), from `start` round, most private first: RFC 8310
 * sec. 5, authenticated TLS before encrypted-only, before clear, before the fallback servers. The sort is
 * stable, so the strategy's order holds among equals, and it runs only when the levels differ.
 */
export function usableInOrder(entries: readonly Entry[], start: number, now: number): Entry[] {
  const out: Entry[] = [];
  let mixed = false;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[(start + i) % entries.length];
    if (entry === undefined || entry.health.check(now) === 'skip') continue;
    if (out.length > 0 && entry.upstream.privacy !== out[0]?.upstream.privacy) mixed = true;
    out.push(entry);
  }
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
