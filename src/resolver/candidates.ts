/**
 * Which upstreams one query tries, and in what order, from the resolver's entries. Functions of their
 * arguments, but for two caches that change no result: a working list reused by every call, and the
 * shared rotations.
 */
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
 * stable, so the strategy's order holds among equals, and it runs only when the levels differ. When every
 * entry is usable and all are of one level (the usual case), and `entries` is long-lived (`shareable`: the
 * resolver's own list, not one made for a routed query), the list is a shared one (below). `claimed` hears
 * of each entry whose backoff ended and which this call made the query's probe.
 */
export function usableInOrder(
  entries: readonly Entry[],
  start: number,
  now: number,
  shareable = false,
  claimed?: (entry: Entry) => void,
): readonly Entry[] {
  let n = 0;
  let mixed = false;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[(start + i) % entries.length];
    if (entry === undefined) continue;
    const use = entry.health.check(now);
    if (use === 'skip') continue;
    if (use === 'probe') claimed?.(entry);
    if (n > 0 && entry.upstream.privacy !== scratch[0]?.upstream.privacy) mixed = true;
    scratch[n++] = entry;
  }
  if (shareable && n === entries.length && !mixed) return rotation(entries, start);
  // Filled by index, not push: an array grown from [] by push reserves 17 slots.
  const out: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) out[i] = scratch[i] as Entry;
  if (mixed)
    out.sort(
      (a, b) => PRIVACY_LEVELS.indexOf(a.upstream.privacy) - PRIVACY_LEVELS.indexOf(b.upstream.privacy),
    );
  return out;
}

/**
 * usableInOrder's working list: it runs to the end without a callback, so one list serves every call. Never
 * emptied (that would drop its storage, made again by the next call): it holds at most as many entries as
 * the most upstreams configured at once.
 */
const scratch: Entry[] = [];

/**
 * Every entry from `start` round, made once per entries array and rotation and shared by every query
 * that gets it: a fresh list per query was about 56 bytes held while the query waited on its upstream.
 * Read-only by type (a job that adds to its candidates, a requeue, copies them first), not frozen: V8
 * iterates a frozen array with for-of through the generic iterator, an object per step (79 bytes a query
 * in the heap profile).
 */
function rotation(entries: readonly Entry[], start: number): readonly Entry[] {
  let byStart = rotations.get(entries);
  if (byStart === undefined) {
    byStart = [];
    rotations.set(entries, byStart);
  }
  let list = byStart[start];
  if (list === undefined) {
    list = entries.map((_, i) => entries[(start + i) % entries.length] as Entry);
    byStart[start] = list;
  }
  return list;
}

/** By the entries array (the resolver's, replaced by a reload). */
const rotations = new WeakMap<readonly Entry[], (readonly Entry[] | undefined)[]>();

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
