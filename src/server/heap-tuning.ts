/**
 * The daemon's V8 heap settings, about CPU and peak memory: the young generation's size (below), and on
 * Node 20 a limit on how far the old generation grows between full collections (limitOldGenerationGrowth).
 *
 * Left to itself, V8 grows the young generation (two semi-spaces, 1 MB each at start) to 16 MB each on
 * Node 20 (32 MB on Node 26) when much of it survives scavenges, as queries waiting on an upstream do: the
 * largest single part of the daemon's peak memory (bench-style runs: 102-107 MiB of RSS against 77-78
 * with the growth stopped). Stopped at start (growth factor 1), it stayed where start-up had left it (2 MB
 * semi-spaces once the configuration was read), and at the maximum rate each scavenge then copied the
 * hundreds of queries in flight and promoted many of them into the old generation.
 * On Node 20 it is therefore held at 4 MB semi-spaces (holdYoungGeneration): growth on below that, off at
 * it. Six alternating runs each at dnsperf -c 4 -q 500: 15.87 -> 15.15 µs of CPU per query (lower in five
 * of six) and a peak RSS of 73.9 -> 69.0 MiB (lower in all six: fewer queries promoted, less garbage in
 * the old generation). 8 MB semi-spaces saved 0.4 µs more but took back 2.8 MiB: 4 keeps the margin.
 *
 * The growth factor is the one young-generation setting V8 reads at run time (--max-semi-space-size only
 * counts at start-up), hence setFlagsFromString, which Node documents as "use with care": this flag only
 * sizes the next growth. Applied on the Node majors it was checked on, and never over an operator's own
 * choice on the command line or in NODE_OPTIONS.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The Node majors each setting was measured on (and found to do what it says). */
const YOUNG_MAJORS = { from: 20, to: 26 };
const HELD_YOUNG_MAJORS = { from: 20, to: 20 };
const OLD_MAJORS = { from: 20, to: 20 };
const YOUNG_FLAGS = /--(max-semi-space-size|semi-space-growth-factor|min-semi-space-size)\b/;
const OLD_FLAGS = /--(heap-growing-percent|max-old-space-size|max-heap-size)\b/;

/** Whether a setting applies: on the Node majors it was checked on, unless the operator set any of `theirs`. */
function applies(theirs: RegExp, majors: { from: number; to: number }): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < majors.from || major > majors.to) return false;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return !theirs.test(given);
}

function tune(flag: string, theirs: RegExp, majors: { from: number; to: number }): boolean {
  if (!applies(theirs, majors)) return false;
  setFlagsFromString(flag);
  return true;
}

/** Semi-space size the young generation is held at on Node 20 (see above). */
export const HELD_SEMI_SPACE_BYTES = 4 * 1024 * 1024;

/** The young generation's semi-space size now. */
function semiSpaceBytes(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
  return 0;
}

/**
 * How the young generation is sized: `held` at HELD_SEMI_SPACE_BYTES (Node 20), `kept` where start-up left
 * it (growth off: Node 22 to 26, measured there for memory only), or undefined when the operator set it.
 */
export type YoungGeneration = 'held' | 'kept' | undefined;

export function sizeYoungGeneration(): YoungGeneration {
  if (applies(YOUNG_FLAGS, HELD_YOUNG_MAJORS)) {
    holdYoungGeneration(HELD_SEMI_SPACE_BYTES);
    return 'held';
  }
  return tune('--semi-space-growth-factor=1', YOUNG_FLAGS, YOUNG_MAJORS) ? 'kept' : undefined;
}

/**
 * Growth doubles the semi-spaces while they are below `bytes` and is off once they reach it, decided after
 * every collection (a 'gc' performance entry). V8 grows only when a scavenge finds much surviving (load),
 * and the next growth needs as many bytes to survive again as the young generation holds, dozens of
 * scavenges: the observer, a turn of the event loop after each collection, sets the factor long before.
 * When V8 shrinks an idle daemon's young generation, growth is on again for the next load.
 */
function holdYoungGeneration(bytes: number): void {
  let factor = 0;
  const adjust = (): void => {
    const next = semiSpaceBytes() < bytes ? 2 : 1;
    if (next === factor) return;
    setFlagsFromString(`--semi-space-growth-factor=${next}`);
    factor = next;
  };
  adjust();
  new PerformanceObserver(adjust).observe({ entryTypes: ['gc'] });
}

/**
 * After each full collection V8 lets the old generation grow to a multiple of what survived before the
 * next one starts (up to 4x when collections are cheap), and the RSS peak is that garbage. Queries that
 * wait on the upstream for tens of milliseconds outlive two scavenges and are promoted, so at high load
 * the old generation fills with dead queries: a fresh daemon under a throughput search (dnsperf -c 1 to
 * -c 32) peaked at 97 MiB of RSS with the cache filling, 73 MiB with the cache off. Growing by 30 % at most
 * (--heap-growing-percent, read at every limit update): 80 MiB, and at the maximum rate 43.9 against 46.2
 * µs of CPU per query (alternating runs): more, shorter full collections of a smaller heap cost less.
 * Node 20 only: in a probe of promoted garbage (test/unit/heap-tuning.test.ts) the old space peaked at
 * 42-50 MiB with it against 62-75 without on Node 20; on Node 22 at 43-50 against 54-61 (too close to
 * call), and the same either way on Node 24 and 26, whose V8 sizes the old generation differently.
 */
export function limitOldGenerationGrowth(): boolean {
  return tune('--heap-growing-percent=30', OLD_FLAGS, OLD_MAJORS);
}
