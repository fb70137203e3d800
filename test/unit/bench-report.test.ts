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
interface DnsperfResult {
  ok: boolean;
  sent?: number;
  completed?: number;
  lost?: number;
  qps?: number;
  okQps?: number;
  failed?: number;
  rcodes: Record<string, number>;
  avgMs: number;
  p50Ms?: number;
  p99Ms?: number;
}

const { percentile, parseDnsperf, bestSetting } = (await import(
  new URL('scripts/bench-lib/dnsperf.mjs', root).href
)) as {
  percentile: (sorted: number[], p: number) => number | undefined;
  parseDnsperf: (text: string, exitCode: number, verbose: boolean) => DnsperfResult;
  bestSetting: (
    grid: [number, number][],
    step: (clients: number, outstanding: number) => Promise<{ ok: boolean; okQps?: number }>,
  ) => Promise<{ clients: number; outstanding: number; qps?: number }>;
};

/** dnsperf 2.10's output as it prints it (a run of 10 queries over DoT to unbound, `-v`). */
const DNSPERF_OUTPUT = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 35587 -m dot -d q.txt -n 1 -c 1 -q 10 -l 2 -v
[Status] Sending queries (to 127.0.0.1:35587)
[Status] Testing complete (end of file)
> NOERROR q0m.h0.bench.test A 0.001273
> NOERROR q1m.h1.bench.test AAAA 0.000117
> NOERROR q2m.h2.bench.test A 0.000135
> SERVFAIL q3m.h3.bench.test TXT 0.000300
> NXDOMAIN q4m.absent.bench.test A 0.000200
> NOERROR q5m.h5.bench.test A 0.000150
> NOERROR q6m.h6.bench.test A 0.000160
> NOERROR q7m.h7.bench.test A 0.000170
> NOERROR q8m.h8.bench.test A 0.000180
> NOERROR q9m.h9.bench.test A 0.000190

Statistics:

  Queries sent:         12
  Queries completed:    10 (83.33%)
  Queries lost:         2 (16.67%)

  Response codes:       NOERROR 8 (80.00%), NXDOMAIN 1 (10.00%), SERVFAIL 1 (10.00%)
  Average packet size:  request 38, response 65
  Run time (s):         0.500000
  Queries per second:   20.000000

  Average Latency (s):  0.000666 (min 0.000046, max 0.044155)
  Latency StdDev (s):   0.004377

Connection Statistics:

  Reconnections:        0

  Average Latency (s):  0.001773 (min 0.001773, max 0.001773)
`;

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

  it("reads dnsperf's statistics: correct answers only count as throughput, the queries' own latency", () => {
    const r = parseDnsperf(DNSPERF_OUTPUT, 0, false);
    assert.equal(r.ok, true);
    assert.equal(r.sent, 12);
    assert.equal(r.completed, 10);
    assert.equal(r.lost, 2);
    assert.equal(r.qps, 20);
    assert.deepEqual(r.rcodes, { NOERROR: 8, NXDOMAIN: 1, SERVFAIL: 1 });
    // NOERROR and NXDOMAIN over the run time; the SERVFAIL is a failure, not throughput.
    assert.equal(r.okQps, 18);
    assert.equal(r.failed, 1);
    // The first "Average Latency" (the queries'), not the connects' under Connection Statistics.
    assert.ok(Math.abs(r.avgMs - 0.666) < 1e-9, String(r.avgMs));
    assert.equal(r.p99Ms, undefined);
    const v = parseDnsperf(DNSPERF_OUTPUT, 0, true);
    assert.ok(v.p50Ms !== undefined && Math.abs(v.p50Ms - 0.18) < 1e-9, String(v.p50Ms));
    assert.ok(v.p99Ms !== undefined && Math.abs(v.p99Ms - 1.273) < 1e-9, String(v.p99Ms));
    assert.ok(Math.abs(v.avgMs - 0.2875) < 1e-9, String(v.avgMs));
    assert.equal(parseDnsperf(DNSPERF_OUTPUT, 1, false).ok, false, 'a failed dnsperf is no result');
    assert.equal(parseDnsperf('dnsperf: invalid option', 0, false).ok, false);
  });

  it('picks the dnsperf setting with the most correct answers, never a failed one', async () => {
    const qps: Record<string, { ok: boolean; okQps?: number }> = {
      '1/100': { ok: true, okQps: 40_000 },
      '4/500': { ok: true, okQps: 52_000 },
      '16/2000': { ok: false, okQps: 90_000 },
      '32/4000': { ok: true, okQps: 51_000 },
    };
    const grid: [number, number][] = [
      [1, 100],
      [4, 500],
      [16, 2000],
      [32, 4000],
    ];
    const step = (c: number, q: number): Promise<{ ok: boolean; okQps?: number }> =>
      Promise.resolve(qps[`${c}/${q}`] ?? { ok: false });
    assert.deepEqual(await bestSetting(grid, step), { clients: 4, outstanding: 500, qps: 52_000 });
    assert.deepEqual(await bestSetting(grid, () => Promise.resolve({ ok: false })), {
      clients: 4,
      outstanding: 500,
    });
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
