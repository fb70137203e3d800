/** Upstream selection strategies as pure functions over indexes (dnsproxy's UpstreamMode as a string union). */
export const SELECTION_STRATEGIES = ['round-robin', 'ordered'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

/**
 * Where in the list of `count` upstreams one query starts (it then tries them in order, wrapping round).
 * Round robin (stubby's default) starts one further along each time; ordered always starts from the first
 * (failover only).
 */
export function attemptStart(strategy: SelectionStrategy, count: number, turn: number): number {
  return strategy === 'round-robin' && count > 0 ? turn % count : 0;
}
