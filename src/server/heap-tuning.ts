/**
 * The daemon's two V8 heap settings, both about peak memory: the young generation kept at its initial size
 * (below), and on Node 20 a limit on how far the old generation grows between full collections
 * (limitOldGenerationGrowth).
 *
 * The young generation stays at two 1 MB semi-spaces instead of growing to 16 MB each (Node 20; 32 MB on
 * Node 26), the largest single part of the daemon's peak memory.
 *
 * V8 grows the young generation when much of it survives scavenges. A forwarder's objects live for one
 * round trip, so little survives (once the churning Maps were gone: util/churn-map.ts) and a small young
 * generation costs little: bench-style runs against the loopback unbound, growth left on vs off, gave
 * 36-37k answers in 2 s at 40,000 q/s offered either way, 56-57 µs of CPU per query either way, and a
 * peak RSS of 102-107 vs 77-78 MiB.
 *
 * The growth factor is the one young-generation setting V8 reads at run time (--max-semi-space-size only
 * counts at start-up), hence setFlagsFromString, which Node documents as "use with care": this flag only
 * sizes the next growth. Applied on the Node majors it was checked on, and never over an operator's own
 * choice on the command line or in NODE_OPTIONS.
 */
import { setFlagsFromString } from 'node:v8';

/** The Node majors each setting was measured on (and found to do what it says). */
const YOUNG_MAJORS = { from: 20, to: 26 };
const OLD_MAJORS = { from: 20, to: 20 };
const YOUNG_FLAGS = /--(max-semi-space-size|semi-space-growth-factor|min-semi-space-size)\b/;
const OLD_FLAGS = /--(heap-growing-percent|max-old-space-size|max-heap-size)\b/;

/** Sets `flag` on the Node majors it was checked on, unless the operator set any of `theirs`. */
function tune(flag: string, theirs: RegExp, majors: { from: number; to: number }): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < majors.from || major > majors.to) return false;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (theirs.test(given)) return false;
  setFlagsFromString(flag);
  return true;
}

export function keepYoungGenerationSmall(): boolean {
  return tune('--semi-space-growth-factor=1', YOUNG_FLAGS, YOUNG_MAJORS);
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
