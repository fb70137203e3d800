/** Exponential, capped, jittered delays (got / node-redis style), as a pure function for tests. */
export interface BackoffPolicy {
  /** Delay after the first failure. @default 1000 */
  readonly baseMs: number;
  /** The longest delay (stubby's tls_backoff_time is 3600 s; a laptop wants far less). @default 60000 */
  readonly capMs: number;
  /** Fraction of the delay added or taken at random, so clients do not retry in step. @default 0.2 */
  readonly jitter: number;
  /** Soft failures (timeouts, dropped connections) in a row before backing off (stubby's tls_connection_retries). @default 2 */
  readonly softFailures?: number | undefined;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000, jitter: 0.2 };

/** The delay before retry number `attempt` (1-based). `random` returns [0, 1). */
export function nextDelayMs(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const raw = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  const spread = raw * policy.jitter * (random() * 2 - 1);
  return Math.max(1, Math.min(policy.capMs, Math.round(raw + spread)));
}
