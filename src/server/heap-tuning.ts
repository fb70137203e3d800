/**
 * The daemon's V8 settings. Three are about peak memory: the young generation kept at its initial size
 * (below), a limit on how far the old generation grows between full collections (limitOldGenerationGrowth),
 * and on the Node majors whose V8 has it on, no mid-tier compiler (skipMaglev). One is about latency when
 * the load drops: type feedback from a function's first call (feedbackFromFirstCall). One is about CPU:
 * young-generation collections without helper threads (scavengeOnMainThread).
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
const OLD_MAJORS = { from: 20, to: 26 };
const MAGLEV_MAJORS = { from: 24, to: 26 };
const YOUNG_FLAGS = /--(max-semi-space-size|semi-space-growth-factor|min-semi-space-size)\b/;
const OLD_FLAGS = /--(heap-growing-percent|max-old-space-size|max-heap-size)\b/;
const MAGLEV_FLAGS = /--(no-)?maglev\b/;
const FEEDBACK_MAJORS = { from: 20, to: 26 };
const FEEDBACK_FLAGS = /--(no-)?lazy-feedback-allocation\b/;
const SCAVENGE_MAJORS = { from: 20, to: 26 };
const SCAVENGE_FLAGS = /--(no-)?(parallel-scavenge|concurrent-array-buffer-sweeping|single-threaded-gc)\b/;

/** Sets `flags` on the Node majors they were checked on, unless the operator set any of `theirs`. */
function tune(
  flags: string | readonly string[],
  theirs: RegExp,
  majors: { from: number; to: number },
): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < majors.from || major > majors.to) return false;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (theirs.test(given)) return false;
  for (const flag of typeof flags === 'string' ? [flags] : flags) setFlagsFromString(flag);
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
 * On Node 22 to 26 too (it was Node 20 only until a probe kept the young generation small, as the daemon
 * does): through a sequence like the bench's throughput search (3 s each at dnsperf -c 1, 4, 16 and 32,
 * then the maximum) dotstub's peak RSS was 85-88 MiB with it against 114-118 without on Node 22, 106-110 against
 * 130-139 on Node 24, 104-113 against 123-142 on Node 26, with CPU per query within the runs' noise; in
 * the probe of promoted garbage (test/unit/heap-tuning.test.ts) the old space peaked at 33-41 MiB with it
 * against 80-113 without, on every major from 20 to 26.
 */
export function limitOldGenerationGrowth(): boolean {
  return tune('--heap-growing-percent=30', OLD_FLAGS, OLD_MAJORS);
}

/**
 * V8's mid-tier optimizing compiler (Maglev), on by default in Node 24 and 26 (off in 20 and 22), compiles
 * every warm function once more before Turbofan: its code and the compiler's zones (in a background thread's
 * malloc arena) were 6-11 MiB of dotstub's RSS. A daemon whose hot path is a few dozen functions that
 * Turbofan compiles anyway gains nothing from it: through the throughput search, peak 96-100 MiB with it
 * off against 104-110 on Node 26 and 96 against 102 on Node 24 (76-79 against 88-90 after the warm-up
 * alone), CPU per query at the maximum on Node 26 14.5-15.3 against 15.1-17.0 µs. Set at run time, before the
 * configuration is read: only functions compiled after it skip the tier.
 */
export function skipMaglev(): boolean {
  return tune('--no-maglev', MAGLEV_FLAGS, MAGLEV_MAJORS);
}

/**
 * V8 optimizes a function for the paths its type feedback has seen, and a path that it has not seen costs
 * a deoptimization when first taken: the whole function, with all it inlined, back to the interpreter, to
 * be compiled again. Feedback vectors come lazily, after a function has run a while, so the daemon's first
 * queries (each alone: its connection's table, the deadline list and the listener's count all go back to
 * empty) ran before there was any, and under sustained load those paths are never taken. When the load
 * dropped, they were: at the end of the bench's warm-up (10 s at 10,000 q/s) --trace-deopt showed six of
 * the query path's functions deoptimized for "insufficient type feedback" (StreamConnection's dispatch and
 * #onFrame, Resolver's #next and #attemptEnded with the deadline list inlined, the UDP listener's replier), and
 * some twenty compiled again (1 to 18 ms of Turbofan each, on the other core) in the first 1.5 s of the
 * next phase, where the slow queries bunched: of the 100 above p99 at 2,000 q/s, 63-84 came in those
 * first 1.5 s of 5. Feedback from the first call instead (--no-lazy-feedback-allocation), alternating
 * runs of the bench's sequence by hand: none of those deoptimizations, 16-31 of 100 in the first 1.5 s
 * (spread as for the bare Node forwarder), p99 at 2,000 q/s 0.85-1.05 against 0.87-1.16 ms (median 0.90
 * against 1.09); at 10,000 q/s and at the maximum no change beyond the noise (CPU per query 14.9-16.1
 * against 14.6-17.3 µs), peak memory the same. Set once the listeners are up: before the configuration
 * was read, every function of start-up got a vector at once and the cold start took 10-15 ms longer;
 * there, 98-106 against 102-103 ms (spawn to the first answer, by hand).
 */
export function feedbackFromFirstCall(): boolean {
  return tune('--no-lazy-feedback-allocation', FEEDBACK_FLAGS, FEEDBACK_MAJORS);
}

/**
 * Young-generation collections on the main thread alone: no helper threads to copy survivors (parallel
 * scavenge) nor to free the dead datagrams' buffers (concurrent ArrayBuffer sweeping). The daemon's young
 * generation is 1 MB with tens of KB surviving, a scavenge every 300-500 queries at the maximum rate; handing
 * that out cost more than the work. With helpers each scavenge paused the daemon 0.49 ms against 0.40 without
 * (--trace-gc-nvp), and the helper threads took 1.2-2.0 µs a query of CPU against 0.1-0.5. CPU per query at
 * the maximum (dnsperf -c 4 -q 500 against the loopback unbound, dotstub in alternating builds, six rounds in a
 * slow hour of this 2-vCPU guest): 27.9 µs on average with helpers, 22.6 without, lower in every round; all of
 * V8's --single-threaded-gc (concurrent marking and sweeping off too) 26.1, so those stay. A probe allocating
 * with survivors (test/unit/heap-tuning.test.ts) ran in half the time without the helpers on Node 20 to 26.
 * Both flags are read at each collection, so setting them at run time takes effect at the next one.
 */
export function scavengeOnMainThread(): boolean {
  return tune(
    ['--no-parallel-scavenge', '--no-concurrent-array-buffer-sweeping'],
    SCAVENGE_FLAGS,
    SCAVENGE_MAJORS,
  );
}
