/** The cache's settings as the configuration gives them (`cache.*` keys), and their defaults. */
export interface CacheConfig {
  /** @default true */
  readonly enabled: boolean;
  /** @default 100000 */
  readonly maxEntries: number;
  /** Bytes of answers plus bookkeeping. @default 16 MiB */
  readonly maxBytes: number;
  /** Seconds; no answer is kept longer. @default 86400 */
  readonly maxTtl: number;
  /** Seconds; shorter TTLs are raised to this. @default 0 */
  readonly minTtl: number;
  /** Refresh popular entries in the background before they expire. @default true */
  readonly prefetch: boolean;
  /** RFC 8767: answer with expired data when the upstreams cannot. @default false */
  readonly serveStale: boolean;
  /** Seconds past expiry an entry may still be served stale (RFC 8767 sec. 5 suggests 1 to 3 days). @default 86400 */
  readonly maxStaleAge: number;
}

export const DEFAULT_CACHE_CONFIG: CacheConfig = {
  enabled: true,
  maxEntries: 100_000,
  maxBytes: 16 * 1024 * 1024,
  maxTtl: 86_400,
  minTtl: 0,
  prefetch: true,
  serveStale: false,
  maxStaleAge: 86_400,
};

/** Tuning that is fixed in production and changed by tests. */
export interface CacheTuning {
  /** Hits before an entry counts as popular enough to prefetch. @default 2 */
  readonly prefetchMinHits: number;
  /** Prefetch in the last this-fraction of the original TTL. @default 0.1 */
  readonly prefetchWindow: number;
  /** RFC 8767 sec. 5 client-response timer: serve stale after this long without an answer. @default 1800 */
  readonly staleAnswerTimeoutMs: number;
  /** RFC 8767 sec. 4: the TTL of a stale answer. @default 30 */
  readonly staleTtl: number;
  /** Seconds an upstream SERVFAIL is kept. @default 5 */
  readonly servfailTtl: number;
}

export const DEFAULT_CACHE_TUNING: CacheTuning = {
  prefetchMinHits: 2,
  prefetchWindow: 0.1,
  staleAnswerTimeoutMs: 1800,
  staleTtl: 30,
  servfailTtl: 5,
};
