// The cache-hit run of scripts/bench: dnsperf over UDP asks a small set of names again and again, so that
// dotstub answers from its own cache and unbound (the forwarder target, default caches) from its own.
// Nothing here should reach the upstream after the warm-up; the run checks it and reports what did.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import * as P from './procs.mjs';
import { HOSTS, ZONE, probeName, unboundQueries } from './setup.mjs';
import { TARGETS, startTarget } from './targets.mjs';
import { bestSetting, dnsperf } from './dnsperf.mjs';
import { median } from './report.mjs';

/** Distinct questions of the cache-hit run: 180 present (A, AAAA, TXT), 20 absent (NXDOMAIN with the SOA). */
export const CACHE_NAMES = 200;
const TYPES = ['A', 'AAAA', 'TXT'];

function line(i) {
  const k = i % CACHE_NAMES;
  if (k % 10 === 9) return `cached-absent${k}.${ZONE} A\n`;
  return `h${k % HOSTS}.${ZONE} ${TYPES[k % TYPES.length]}\n`;
}

async function writeRepeated(file, count) {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += line(i);
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return file;
}

export const CACHE_HIT_TARGETS = ['dotstub', 'unbound-fwd'];

async function measured(ctx, pid, dp) {
  const cpu0 = P.cpuSeconds(pid);
  const up0 = await unboundQueries(ctx.upstreamConf);
  const r = await dnsperf({ mode: 'udp', ...dp });
  const up1 = await unboundQueries(ctx.upstreamConf);
  if (up0 !== undefined && up1 !== undefined) r.upstreamQueries = up1 - up0;
  const answered = r.completed ?? 0;
  if (answered > 0) r.cpuUsPerQuery = ((P.cpuSeconds(pid) - cpu0) * 1e6) / answered;
  return r;
}

async function runOne(ctx, cfg, tgt, dir, files, log) {
  mkdirSync(dir, { recursive: true });
  const { proc, port } = await startTarget(tgt, ctx, dir);
  const out = { errors: [] };
  try {
    if ((await P.pollUntilAnswered(port, probeName(), { everyMs: 5, timeoutMs: 10_000 })) === undefined)
      throw new Error(`${tgt.name} did not answer within 10 s; see ${proc.logFile}`);
    // Warm-up: every name once (and again), so the measured phases are all cache hits.
    await dnsperf({
      port,
      mode: 'udp',
      file: files.once,
      seconds: 5,
      clients: 1,
      outstanding: 20,
      qps: 2000,
    });
    await dnsperf({
      port,
      mode: 'udp',
      file: files.once,
      seconds: 5,
      clients: 1,
      outstanding: 20,
      qps: 2000,
    });
    out.rate = await measured(ctx, proc.pid, {
      port,
      file: files.rate,
      seconds: cfg.duration,
      qps: 10_000,
      clients: cfg.rateClients,
      outstanding: cfg.rateOutstanding,
      verbose: true,
    });
    out.search = await bestSetting(cfg.searchGrid, async (clients, outstanding) => {
      const r = await dnsperf({
        port,
        mode: 'udp',
        file: files.max,
        seconds: cfg.searchSeconds,
        clients,
        outstanding,
      });
      log(`  cache-hit ${tgt.name} search -c ${clients} -q ${outstanding}: ${Math.round(r.okQps ?? 0)} q/s`);
      return r;
    });
    out.max = await measured(ctx, proc.pid, {
      port,
      file: files.max,
      seconds: cfg.duration,
      clients: out.search.clients,
      outstanding: out.search.outstanding,
    });
    out.peakMemMiB = P.peakRssMiB(proc.pid);
    for (const r of [out.rate, out.max]) {
      if (!r.ok) out.errors.push(`dnsperf failed: ${r.error}`);
      if ((r.upstreamQueries ?? 0) > (r.completed ?? 0) * 0.01)
        out.errors.push(`the upstream saw ${r.upstreamQueries} queries: not answered from the cache`);
      if ((r.rcodes.SERVFAIL ?? 0) > 0) out.errors.push(`${r.rcodes.SERVFAIL} SERVFAIL`);
    }
  } catch (err) {
    out.errors.push(String(err.message ?? err));
  } finally {
    await P.stop(proc);
  }
  return out;
}

const fmt = (x, d = 0) => (x === undefined || Number.isNaN(x) ? '?' : x.toFixed(d));

/** Runs dotstub and unbound answering from their caches, `cfg.reps` times in alternating order. */
export async function runCacheHit(ctx, cfg, workDir, log) {
  const lines = Math.max(cfg.duration, cfg.searchSeconds) * cfg.maxLinesPerSecond;
  const files = {
    once: await writeRepeated(join(workDir, 'cache-once.txt'), CACHE_NAMES),
    rate: await writeRepeated(join(workDir, 'cache-rate.txt'), 10_000 * cfg.duration + 10_000),
    max: await writeRepeated(join(workDir, 'cache-max.txt'), lines),
  };
  const targets = TARGETS.filter((t) => CACHE_HIT_TARGETS.includes(t.name));
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let rep = 0; rep < cfg.reps; rep++) {
    const order = rep % 2 === 0 ? targets : [...targets].reverse();
    for (const tgt of order) {
      const r = await runOne(ctx, cfg, tgt, join(workDir, `cache-${tgt.name}-rep${rep}`), files, log);
      log(
        `  cache-hit ${tgt.name} rep ${rep + 1}: max ${fmt(r.max?.okQps)} q/s, p99@10k ${fmt(r.rate?.p99Ms, 2)} ms, ` +
          `CPU ${fmt(r.max?.cpuUsPerQuery, 1)} µs/q${r.errors.length ? `; ${r.errors.join('; ')}` : ''}`,
      );
      results[tgt.name].push(r);
    }
  }
  const rows = targets.map((t) => {
    const reps = results[t.name];
    const med = (f) => median(reps.map(f).filter((x) => x !== undefined && !Number.isNaN(x)));
    return {
      name: t.name,
      label: t.label.replace('(UDP)', '(UDP, from its cache)'),
      maxQps: med((r) => r.max?.okQps),
      p50Ms: med((r) => r.rate?.p50Ms),
      p99Ms: med((r) => r.rate?.p99Ms),
      lost: Math.max(...reps.map((r) => (r.rate?.lost ?? 0) + (r.max?.lost ?? 0))),
      cpuUsPerQuery: med((r) => r.max?.cpuUsPerQuery),
      upstreamQueries: Math.max(
        ...reps.map((r) => (r.rate?.upstreamQueries ?? 0) + (r.max?.upstreamQueries ?? 0)),
      ),
      peakMemMiB: Math.max(...reps.map((r) => r.peakMemMiB ?? 0)),
      search: reps[0]?.search,
      errors: reps.flatMap((r) => r.errors),
    };
  });
  const head =
    '| cache hits (UDP) | max q/s | p50 @10k q/s | p99 @10k q/s | CPU µs/q (max) | lost | upstream queries | peak memory |';
  const table = [
    head,
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${fmt(r.maxQps)} | ${fmt(r.p50Ms, 2)} ms | ${fmt(r.p99Ms, 2)} ms | ${fmt(r.cpuUsPerQuery, 1)} | ${r.lost} | ${r.upstreamQueries} | ${fmt(r.peakMemMiB)} MiB |`,
    ),
  ].join('\n');
  return { rows, table, raw: results };
}
