/** What the resolver asks before forwarding: where this name goes (split DNS, local zones, portal mode). */
import type { Upstream } from '../upstream/upstream.js';

export type RouteDecision =
  /** Only these upstreams may see the name; never the public ones. */
  | { readonly kind: 'upstreams'; readonly group: string; readonly upstreams: readonly Upstream[] }
  /** Answered by dotstub itself (dns/local-zone.ts). */
  | { readonly kind: 'local'; readonly zone: string };

export interface QueryRouter {
  /** `name` is lower-case without the trailing dot; undefined means the public upstreams. */
  route(name: string): RouteDecision | undefined;
  /** route() for a question key (dns/wire.ts `name./type/class`): the resolver's path, for every query. */
  routeKey(key: string): RouteDecision | undefined;
  /**
   * False while the machine has no route to the upstream's address (no IPv6 route, say: stubby#82). Such
   * an upstream is skipped as unavailable, not charged with a failure.
   */
  reachable(upstream: Upstream): boolean;
}
