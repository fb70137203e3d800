/**
 * The daemon keeps V8's young generation at its initial size (two 1 MB semi-spaces) instead of letting it
 * grow to 16 MB each (Node 20; 32 MB on Node 26), the largest single part of its peak memory.
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

const CHECKED_MAJORS = { from: 20, to: 26 };
const OPERATOR_FLAGS = /--(max-semi-space-size|semi-space-growth-factor|min-semi-space-size)\b/;

export function keepYoungGenerationSmall(): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < CHECKED_MAJORS.from || major > CHECKED_MAJORS.to) return false;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (OPERATOR_FLAGS.test(given)) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
