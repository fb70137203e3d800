/**
 * Which answers a query may be served from the cache, by how they came (RFC 8310 sec. 5).
 *
 * Each entry is tagged with the privacy of the exchange that brought it: `authenticated` (TLS whose
 * server identity was proven) or `unauthenticated` (encrypted-only TLS, clear text to port 53, or the
 * configured clear-text fallback, all possible in the Opportunistic profile only). The two live in
 * separate partitions of the key space.
 *
 * Choice: the usage profile is per upstream today, not per query, so the profile a query is held to is
 * the strictest among the configured upstreams. If any upstream is Strict, the daemon promised
 * authenticated answers, and an Opportunistic neighbour's clear-text answer (spoofable on the path) must
 * not be replayed to clients for a whole TTL: only the authenticated partition is served, and the other
 * is not even stored. With only Opportunistic upstreams, both are served, authenticated first. A clear
 * answer never replaces an authenticated one in place: they are different keys.
 */
import type { UpstreamAnswer } from '../upstream/upstream.js';
import type { UsageProfile } from '../upstream/usage-profile.js';

export type Partition = 'authenticated' | 'unauthenticated';

export function partitionOf(answer: UpstreamAnswer): Partition {
  return answer.transport === 'tls' && answer.auth?.authenticated === true
    ? 'authenticated'
    : 'unauthenticated';
}

/** The partitions a query may be answered from, best first. */
export function servablePartitions(profiles: readonly UsageProfile[]): readonly Partition[] {
  return profiles.includes('strict') || profiles.length === 0
    ? ['authenticated']
    : ['authenticated', 'unauthenticated'];
}
