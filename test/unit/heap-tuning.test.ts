// The daemon's young-generation setting (src/server/heap-tuning.ts), checked in a child Node so that the
// test runner's own heap is left alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const tuning = pathToFileURL(fileURLToPath(new URL('../../src/server/heap-tuning.js', import.meta.url))).href;

/** Runs the tuning, then allocates with many survivors; prints whether it applied and the new space's size. */
const PROBE = `
import v8 from 'node:v8';
const { keepYoungGenerationSmall } = await import(${JSON.stringify(tuning)});
const applied = keepYoungGenerationSmall();
const keep = [];
for (let r = 0; r < 300; r++) {
  for (let i = 0; i < 20000; i++) { const o = { i, a: [i] }; if (i % 10 === 0) keep.push(o); }
  if (keep.length > 30000) keep.splice(0, 15000);
}
const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
console.log(JSON.stringify({ applied, newSpaceMiB: ns.space_size / 1048576 }));
`;

/** Runs `code` as an ES module in a child Node with `nodeArgs`; returns what it printed, parsed as JSON. */
function runProbe(code: string, nodeArgs: string[], env: NodeJS.ProcessEnv = {}): unknown {
  const out = execFileSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', code], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

function probe(nodeArgs: string[], env: NodeJS.ProcessEnv = {}): { applied: boolean; newSpaceMiB: number } {
  return runProbe(PROBE, nodeArgs, env) as { applied: boolean; newSpaceMiB: number };
}

/**
 * A live set of about 8 MB, then objects that each live across a few scavenges (promoted, then dropped),
 * as queries waiting on an upstream do; prints the old space's largest size. The young generation is kept
 * small first, as the daemon does: without that, Node 24 and 26 promoted too little for the old generation
 * to grow either way.
 */
const OLD_PROBE = `
import v8 from 'node:v8';
const { keepYoungGenerationSmall, limitOldGenerationGrowth } = await import(${JSON.stringify(tuning)});
keepYoungGenerationSmall();
const applied = limitOldGenerationGrowth();
const live = Array.from({ length: 100000 }, (_, i) => ({ i, pad: [i, i, i, i, i, i, i, i] }));
let waiting = [];
let oldPeak = 0;
for (let r = 0; r < 400; r++) {
  for (let i = 0; i < 5000; i++) waiting.push({ r, i, data: [i, r] });
  if (waiting.length > 40000) waiting = waiting.slice(20000);
  if (r % 10 === 0) {
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    oldPeak = Math.max(oldPeak, old.space_size);
  }
}
console.log(JSON.stringify({ applied, oldPeakMiB: Math.round(oldPeak / 10485.76) / 100, live: live.length }));
`;

function probeOld(nodeArgs: string[]): { applied: boolean; oldPeakMiB: number } {
  return runProbe(OLD_PROBE, nodeArgs) as { applied: boolean; oldPeakMiB: number };
}

/** Whether V8's Maglev tier is on before and after skipMaglev() (a V8 test intrinsic, hence the flag). */
const MAGLEV_PROBE = `
const { skipMaglev } = await import(${JSON.stringify(tuning)});
const before = %IsMaglevEnabled();
const applied = skipMaglev();
console.log(JSON.stringify({ applied, before, after: %IsMaglevEnabled() }));
`;

function probeMaglev(nodeArgs: string[]): { applied: boolean; before: boolean; after: boolean } {
  return runProbe(MAGLEV_PROBE, ['--allow-natives-syntax', ...nodeArgs]) as {
    applied: boolean;
    before: boolean;
    after: boolean;
  };
}

/**
 * A function takes its rare path once (as a query alone at start-up empties its tables), then the common
 * one until Turbofan has it; prints whether the rare path, taken again, kept the optimized code.
 */
const FEEDBACK_PROBE = `
const { feedbackFromFirstCall } = await import(${JSON.stringify(tuning)});
const applied = feedbackFromFirstCall();
class Table { size = 0; idle = 0; }
function settle(table, last) {
  table.size++;
  if (last) table.idle = table.size;
  return table.size;
}
const table = new Table();
// The caller stays in the interpreter, so that settle() is compiled on its own, not inlined into a loop.
function drive() {
  for (let j = 0; j < 10000; j++) settle(table, false);
}
%NeverOptimizeFunction(drive);
settle(table, true);
let optimized = false;
for (let i = 0; i < 2000 && !optimized; i++) {
  drive();
  optimized = %ActiveTierIsTurbofan(settle);
}
settle(table, true);
console.log(JSON.stringify({ applied, optimized, keptAfterRarePath: %ActiveTierIsTurbofan(settle) }));
`;

function probeFeedback(nodeArgs: string[]): {
  applied: boolean;
  optimized: boolean;
  keptAfterRarePath: boolean;
} {
  return runProbe(FEEDBACK_PROBE, ['--allow-natives-syntax', ...nodeArgs]) as {
    applied: boolean;
    optimized: boolean;
    keptAfterRarePath: boolean;
  };
}

/**
 * Allocates with survivors in a small young generation (as the daemon keeps it); prints whether the tuning
 * applied, and the CPU ticks of the process's other threads (V8's helpers) and of its main thread, from
 * /proc on Linux (null elsewhere).
 */
const SCAVENGE_PROBE = `
import { readdirSync, readFileSync } from 'node:fs';
const { keepYoungGenerationSmall, scavengeOnMainThread } = await import(${JSON.stringify(tuning)});
const linux = process.platform === 'linux';
const ticks = (t) => { const f = readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const helpers = () => readdirSync('/proc/self/task').filter((t) => Number(t) !== process.pid).reduce((n, t) => n + ticks(t), 0);
keepYoungGenerationSmall();
const applied = scavengeOnMainThread();
// Counted over the loop only: start-up's compiling on the helper threads is not a collection's.
const helpersBefore = linux ? helpers() : 0;
const mainBefore = linux ? ticks(process.pid) : 0;
const keep = [];
for (let r = 0; r < 40; r++) {
  for (let i = 0; i < 20000; i++) { const o = { i, a: [i], b: new Uint8Array(100) }; if (i % 4 === 0) keep.push(o); }
  if (keep.length > 20000) keep.splice(0, 10000);
}
const helperTicks = linux ? helpers() - helpersBefore : null;
const mainTicks = linux ? ticks(process.pid) - mainBefore : null;
console.log(JSON.stringify({ applied, helperTicks, mainTicks, kept: keep.length }));
`;

function probeScavenge(nodeArgs: string[]): {
  applied: boolean;
  helperTicks: number | null;
  mainTicks: number | null;
} {
  return runProbe(SCAVENGE_PROBE, nodeArgs) as {
    applied: boolean;
    helperTicks: number | null;
    mainTicks: number | null;
  };
}

describe('heap tuning', () => {
  it('keeps the young generation at its initial size under allocation that would grow it', () => {
    const tuned = probe([]);
    assert.equal(tuned.applied, true);
    assert.ok(tuned.newSpaceMiB <= 4, `new space ${tuned.newSpaceMiB} MiB`);
    const untuned = probe(['--semi-space-growth-factor=2']);
    assert.equal(untuned.applied, false, "the operator's flag wins");
    assert.ok(untuned.newSpaceMiB > tuned.newSpaceMiB, `grown to ${untuned.newSpaceMiB} MiB without it`);
  });

  it('keeps the old generation from growing far past what survives', () => {
    const tuned = probeOld([]);
    assert.equal(tuned.applied, true);
    // 0 is V8's own default (its growing factor): given by the operator, so the tuning stays out.
    const untuned = probeOld(['--heap-growing-percent=0']);
    assert.equal(untuned.applied, false, "the operator's flag wins");
    assert.ok(
      tuned.oldPeakMiB < untuned.oldPeakMiB * 0.85,
      `old space peaked at ${tuned.oldPeakMiB} MiB tuned, ${untuned.oldPeakMiB} MiB with V8's default`,
    );
  });

  it("turns V8's mid-tier compiler off where it is on by default (Node 24 and 26)", () => {
    const major = Number(process.versions.node.split('.')[0]);
    const tuned = probeMaglev([]);
    if (major < 24) {
      // Off by default in Node 20 and 22: nothing to do.
      assert.deepEqual(tuned, { applied: false, before: false, after: false });
      return;
    }
    assert.deepEqual(tuned, { applied: true, before: true, after: false });
    assert.deepEqual(
      probeMaglev(['--maglev']),
      { applied: false, before: true, after: true },
      "the operator's flag wins",
    );
  });

  it('keeps optimized code when a path seen only at the first call is taken again', () => {
    assert.deepEqual(probeFeedback([]), { applied: true, optimized: true, keptAfterRarePath: true });
    // V8's default (lazy vectors): the first call leaves no feedback, and the rare path deoptimizes.
    assert.deepEqual(
      probeFeedback(['--lazy-feedback-allocation']),
      { applied: false, optimized: true, keptAfterRarePath: false },
      "the operator's flag wins",
    );
  });

  it('collects the young generation without helper threads', () => {
    const tuned = probeScavenge([]);
    const untuned = probeScavenge(['--parallel-scavenge']);
    assert.equal(tuned.applied, true);
    assert.equal(untuned.applied, false, "the operator's flag wins");
    if (process.platform !== 'linux') return; // the threads' CPU is read from /proc
    const helpers = tuned.helperTicks ?? 0;
    const helpersUntuned = untuned.helperTicks ?? 0;
    // With V8's default the helpers do much of each scavenge, given a second core to run on; without, what
    // is left is the old generation's concurrent marking, kept on (Node 20: 2-8 ticks against 45-63 here;
    // Node 26, which marks more of this probe's promotions concurrently: 20-27 against 47-76).
    if (availableParallelism() >= 2)
      assert.ok(
        helpers * 1.5 < helpersUntuned,
        `helpers ${helpers} ticks tuned, ${helpersUntuned} by default (main thread ${tuned.mainTicks} tuned)`,
      );
  });

  it("leaves an operator's NODE_OPTIONS alone", () => {
    assert.equal(probe([], { NODE_OPTIONS: '--max-semi-space-size=8' }).applied, false);
  });
});
