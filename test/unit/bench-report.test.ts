// The benchmark's arithmetic (scripts/bench-lib/report.mjs, dnsperf.mjs): the medians, worst cases and
// ratios that the speed issue's targets are read from. The scripts are plain JavaScript, so they are
// loaded at run time and typed here by what the tests use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

interface Rep {
  max?: Record<string, number | undefined>;
  r2000?: Record<string, number | undefined>;
  r10000?: Record<string, number | undefined>;
  search?: { clients: number; outstanding: number };
  peakMemMiB?: number;
  coldMs?: number[];
  queryCommandMs?: number[];
  errors?: string[];
}

interface Summary {
  name: string;
  max: Record<string, number | string | undefined>;
  r2000: Record<string, number | undefined>;
  r10000: Record<string, number | undefined>;
  peakMemMiB?: number;
  coldStartMs?: number;
  queryCommandMs?: number;
  errors: string[];
}

interface Ratio {
  dotstub?: number;
  vsStubby?: number;
  vsBestOther?: number;
  bestOther?: string;
  vsDirect?: number;
  vsFloor?: number;
}

interface Ratios {
  throughput: Ratio;
  cpuUsPerQuery: Ratio;
  p50Ms2000: Ratio;
  p99Ms10000: Ratio;
  peakMemMiB: Ratio;
  coldStartMs: Ratio;
  tcpThroughputVsDirect?: number;
}

interface Report {
  median(values: unknown[]): number | undefined;
  summarise(target: { name: string; label: string; mode: string }, reps: Rep[]): Summary;
  ratios(summaries: Summary[]): Ratios | undefined;
  renderTable(summaries: Summary[], ratios: unknown): string;
}

const root = new URL('../../../', import.meta.url);
const report = (await import(new URL('scripts/bench-lib/report.mjs', root).href)) as Report;
const { percentile } = (await import(new URL('scripts/bench-lib/dnsperf.mjs', root).href)) as {
  percentile: (sorted: number[], p: number) => number | undefined;
};

/** One repetition of a target with the given figures at the maximum, 2k and 10k q/s. */
function rep(
  qps: number,
  cpu: number,
  p50: number,
  p99: number,
  peak: number,
  extra: Partial<Rep> = {},
): Rep {
  return {
    max: { okQps: qps, cpuUsPerQuery: cpu, lost: 0, failed: 0, connMax: 1 },
    r2000: { p50Ms: p50, avgMs: p50, p99Ms: p50 * 1.5, okQps: 2000, lost: 0, failed: 0 },
    r10000: { p50Ms: p50 / 2, avgMs: p50 / 2, p99Ms: p99, okQps: 10000, lost: 0, failed: 0 },
    peakMemMiB: peak,
    coldMs: [90],
    ...extra,
  };
}

function target(name: string, reps: Rep[]): Summary {
  return report.summarise({ name, label: name, mode: 'udp' }, reps);
}

describe('benchmark arithmetic', () => {
  it('takes medians over what is a number, and nothing from nothing', () => {
    assert.equal(report.median([3, 1, 2]), 2);
    assert.equal(report.median([4, 1, 3, 2]), 2.5);
    assert.equal(report.median([5, undefined, NaN, Infinity, 1]), 3);
    assert.equal(report.median([]), undefined);
  });

  it('reads a percentile from sorted latencies, the top one for p100', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 51);
    assert.equal(percentile(sorted, 99), 100);
    assert.equal(percentile(sorted, 100), 100);
    assert.equal(percentile([], 99), undefined);
  });

  it('summarises repetitions: medians for speed, the worst repetition for losses, memory and connections', () => {
    const s = target('dotstub', [
      rep(50_000, 16, 0.6, 0.8, 75.5, {
        search: { clients: 4, outstanding: 500 },
        max: { okQps: 50_000, cpuUsPerQuery: 16, lost: 3, failed: 1, connMax: 2 },
      }),
      rep(54_000, 15, 0.7, 1.0, 74.0, { search: { clients: 4, outstanding: 500 }, coldMs: [80, 100] }),
      rep(52_000, 18, 0.5, 0.9, 76.2, { search: { clients: 16, outstanding: 2000 } }),
    ]);
    assert.equal(s.max.qps, 52_000);
    assert.equal(s.max.cpuUsPerQuery, 16);
    assert.equal(s.max.lost, 3);
    assert.equal(s.max.failed, 1);
    assert.equal(s.max.tlsConnections, 2);
    // Each repetition's own pick, once each, in order.
    assert.equal(s.max.setting, '-c 4 -q 500, -c 16 -q 2000');
    assert.equal(s.r2000.p50Ms, 0.6);
    assert.equal(s.r10000.p99Ms, 0.9);
    assert.equal(s.peakMemMiB, 76.2);
    assert.equal(s.coldStartMs, 90);
  });

  it('divides dotstub by each other target, picking the best forwarder by the direction of each figure', () => {
    const summaries = [
      target('direct-tls', [rep(60_000, NaN, 0.55, 0.3, NaN)]),
      target('dotstub', [rep(54_000, 15, 0.62, 0.8, 75)]),
      target('node-floor', [rep(60_000, 12, 0.62, 0.7, 82)]),
      target('stubby', [rep(16_000, 60, 0.5, 10, 12)]),
      target('unbound-fwd', [rep(33_000, 27, 0.62, 1.0, 43)]),
      target('kresd', [rep(42_000, 21, 0.63, 0.9, 120)]),
      target('dotstub-tcp', [rep(90_000, 9, 0.64, 1.1, 74)]),
    ];
    const r = report.ratios(summaries);
    assert.ok(r !== undefined);
    const close = (actual: number | undefined, expected: number): void => {
      assert.ok(
        actual !== undefined && Math.abs(actual - expected) < 1e-9,
        `${String(actual)} != ${expected}`,
      );
    };
    // Throughput: higher is better, so the best other is Knot Resolver's 42k.
    close(r.throughput.vsStubby, 54_000 / 16_000);
    close(r.throughput.vsBestOther, 54_000 / 42_000);
    assert.equal(r.throughput.bestOther, 'kresd');
    close(r.throughput.vsDirect, 0.9);
    close(r.throughput.vsFloor, 0.9);
    // CPU: lower is better, so the best other is Knot Resolver's 21; no direct-TLS ratio for it.
    close(r.cpuUsPerQuery.vsBestOther, 15 / 21);
    assert.equal(r.cpuUsPerQuery.vsDirect, undefined);
    // p50 at 2k: stubby's 0.5 is the best other.
    assert.equal(r.p50Ms2000.bestOther, 'stubby');
    close(r.p50Ms2000.vsStubby, 0.62 / 0.5);
    close(r.p99Ms10000.vsDirect, 0.8 / 0.3);
    assert.equal(r.peakMemMiB.bestOther, 'stubby');
    close(r.tcpThroughputVsDirect, 1.5);
    // The bare forwarder is a reference, never a forwarder to beat.
    for (const [key, ratio] of Object.entries(r) as [string, Ratio | number][])
      if (typeof ratio === 'object') assert.notEqual(ratio.bestOther, 'node-floor', key);
    const table = report.renderTable(summaries, r);
    assert.match(
      table,
      /\| max throughput \(higher is better\) \| 3\.38 \| 1\.29 \(kresd\) \| 0\.90 \| 0\.90 \|/,
    );
    assert.match(table, /\| max throughput, dotstub over TCP clients \| \| \| 1\.50 \| \|/);
  });

  it('has no ratios without a dotstub row', () => {
    assert.equal(report.ratios([target('stubby', [rep(16_000, 60, 0.5, 10, 12)])]), undefined);
  });
});
