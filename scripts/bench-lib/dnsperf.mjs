// Runs dnsperf (bounded in queries and time) and parses its statistics; with `verbose`, also the per-query
// latencies of its -v output ("> NOERROR name TYPE 0.000123").
import { run } from './procs.mjs';

function num(re, text) {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/**
 * opts: { port, mode: 'udp'|'tcp'|'dot', file, seconds, clients, outstanding, qps?, verbose?, timeoutS? }
 * Resolves { sent, completed, lost, qps, okQps, rcodes, avgMs, p50Ms, p99Ms, args, ok }.
 */
export async function dnsperf(opts) {
  const args = [
    '-s',
    '127.0.0.1',
    '-p',
    String(opts.port),
    '-m',
    opts.mode,
    '-d',
    opts.file,
    '-n',
    '1',
    '-l',
    String(opts.seconds),
    '-c',
    String(opts.clients),
    '-q',
    String(opts.outstanding),
    '-t',
    String(opts.timeoutS ?? 2),
  ];
  if (opts.qps) args.push('-Q', String(opts.qps));
  if (opts.verbose) args.push('-v');
  const r = await run('dnsperf', args, { timeoutMs: (opts.seconds + (opts.timeoutS ?? 2) + 15) * 1000 });
  const res = { args: `dnsperf ${args.join(' ')}`, ...parseDnsperf(r.stdout, r.code, opts.verbose) };
  if (!res.ok) res.error = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
  return res;
}

/**
 * dnsperf's printed statistics (and, with `verbose`, its per-query "> RCODE name TYPE seconds" lines) as
 * numbers: { ok, sent, completed, lost, qps, okQps, failed, rcodes, avgMs, p50Ms?, p99Ms? }.
 */
export function parseDnsperf(text, exitCode, verbose) {
  const rcodes = {};
  const rc = /Response codes:\s+(.*)/.exec(text);
  if (rc) for (const m of rc[1].matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]] = Number(m[2]);
  const completed = num(/Queries completed:\s+(\d+)/, text);
  const runTime = num(/Run time \(s\):\s+([\d.]+)/, text);
  const good = (rcodes.NOERROR ?? 0) + (rcodes.NXDOMAIN ?? 0);
  const res = {
    ok: exitCode === 0 && completed !== undefined,
    sent: num(/Queries sent:\s+(\d+)/, text),
    completed,
    lost: num(/Queries lost:\s+(\d+)/, text),
    qps: num(/Queries per second:\s+([\d.]+)/, text),
    /** Correct answers (NOERROR, NXDOMAIN) per second: SERVFAILs do not count as throughput. */
    okQps: runTime ? good / runTime : undefined,
    failed: completed !== undefined ? completed - good : undefined,
    rcodes,
    // The first "Average Latency" is the queries'; a second one, under Connection Statistics, is the connects'.
    avgMs: (num(/Average Latency \(s\):\s+([\d.]+)/, text) ?? NaN) * 1000,
  };
  if (verbose) {
    const lat = [];
    for (const line of text.split('\n')) {
      if (line.charCodeAt(0) !== 62 /* > */) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v * 1000);
    }
    lat.sort((a, b) => a - b);
    res.p50Ms = percentile(lat, 50);
    res.p99Ms = percentile(lat, 99);
    if (lat.length) res.avgMs = lat.reduce((a, b) => a + b, 0) / lat.length;
  }
  return res;
}

/**
 * The best dnsperf setting of `grid` ([clients, outstanding] pairs) by correct answers per second: `step`
 * runs one setting and returns its dnsperf result. A failed step never wins; with none good, -c 4 -q 500.
 */
export async function bestSetting(grid, step) {
  let best;
  for (const [i, [clients, outstanding]] of grid.entries()) {
    const r = await step(clients, outstanding, i);
    if (r.ok && (!best || (r.okQps ?? 0) > best.qps)) best = { clients, outstanding, qps: r.okQps ?? 0 };
  }
  return best ?? { clients: 4, outstanding: 500 };
}
