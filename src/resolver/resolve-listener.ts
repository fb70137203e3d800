/**
 * Who hears a query's result: a function, or an object whose resolved() is called. The forwarding path
 * passes objects it has already made for the query (the cache's fetch, the listener's client query), so a
 * query in flight holds no closure of its own: each was about 100-150 bytes, kept alive as long as the query.
 */
import type { ResolveResult } from './resolver.js';

export type ResolveListener = ((result: ResolveResult) => void) | { resolved(result: ResolveResult): void };

export function deliver(listener: ResolveListener, result: ResolveResult): void {
  if (typeof listener === 'function') listener(result);
  else listener.resolved(result);
}
