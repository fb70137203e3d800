/** Upstream selection strategies as pure functions over indexes (dnsproxy's UpstreamMode as a string union). */
export const SELECTION_STRATEGIES = ['round-robin', 'ordered'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

/**
 * The order in which to try `count` upstreams for one query. Round robin (stubby's default) starts one
 * further along each time; ordered always starts from the first (failover only).
 */
export function attemptOrder(strategy: SelectionStrategy, count: number, turn: number): number[] {
  const start = strategy === 'round-robin' && count > 0 ? turn % count : 0;
  return Array.from({ length: count }, (_, i) => (start + i) % count);
}
