/**
 * Round-trip times of the last N answers in a fixed ring: O(1) and no allocation per answer (the hot path),
 * The average and percentiles are worked out only when someone asks (`dotstub status`), by summing and
 * sorting a copy of at most N numbers, so no rounding drift builds up over weeks of answers.
 */
export interface RttSummary {
  /** Samples in the window (at most its capacity). */
  readonly count: number;
  readonly avgMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

export const DEFAULT_RTT_WINDOW = 256;

/** Nearest-rank percentile of sorted values (p in 0..1): the smallest value with at least p of them at or below it. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

export class RttWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(capacity = DEFAULT_RTT_WINDOW) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#samples = new Float64Array(capacity);
  }

  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    const slot = this.#next;
    if (this.#count < this.#samples.length) this.#count++;
    this.#samples[slot] = ms;
    this.#next = slot + 1 === this.#samples.length ? 0 : slot + 1;
  }

  /** The window's average and percentiles, or undefined before the first sample. */
  summary(): RttSummary | undefined {
    if (this.#count === 0) return undefined;
    const sorted = this.#samples.slice(0, this.#count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.#count,
      avgMs: sum / this.#count,
      minMs: sorted[0] ?? 0,
      maxMs: sorted[this.#count - 1] ?? 0,
      p50Ms: percentile(sorted, 0.5),
      p90Ms: percentile(sorted, 0.9),
      p99Ms: percentile(sorted, 0.99),
    };
  }
}
