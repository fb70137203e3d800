#!/usr/bin/env node
// scripts/bench: dotstub side by side with stubby, unbound (as a DoT forwarder) and Knot Resolver, against
// dnsperf speaking DNS-over-TLS straight to the upstream unbound (the limit). Loopback only; every process it
// starts is stopped by PID, also on errors and Ctrl-C. See `scripts/bench --help` and README "Benchmarks".
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import * as P from './bench-lib/procs.mjs';
import { makeCerts, startUpstream, writeQueryFile, probeName, unboundQueries } from './bench-lib/setup.mjs';
import { TARGETS, startTarget, DOTSTUB_MAIN, queryArgs, serviceEnv } from './bench-lib/targets.mjs';
import { bestSetting, dnsperf } from './bench-lib/dnsperf.mjs';
import { summarise, ratios, renderTable, median } from './bench-lib/report.mjs';
import { runCacheHit } from './bench-lib/cache-hit.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const USAGE = `usage: scripts/bench [--short] [--duration S] [--reps N] [--only NAME,...] [--json FILE]
                     [--cold N] [--upstream-threads N] [--no-install] [--keep]

  --short              whole run under two minutes: 2 s phases, 1 repetition, 3 cold starts
  --duration S         seconds of each measured dnsperf phase (default 10; 2 with --short)
  --reps N             repetitions, alternating the targets' order (default 3; 1 with --short)
  --only NAME,...      targets to run: ${TARGETS.map((t) => t.name).join(', ')}, cache-hit
                       (cache-hit: dotstub and unbound answering a small name set from their caches)
  --json FILE          also write the results as JSON
  --cold N             cold starts per target and repetition (default 5; 3 with --short)
  --upstream-threads N num-threads of the upstream unbound (default 1)
  --no-install         do not install missing Debian packages
  --keep               keep the temporary directory (configs, logs, query files)`;

const { values: opt } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    duration: { type: 'string' },
    reps: { type: 'string' },
    only: { type: 'string' },
    json: { type: 'string' },
    cold: { type: 'string' },
    'upstream-threads': { type: 'string', default: '1' },
    'no-install': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const positive = (name, v, dflt) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 600) {
    console.error(`bench: --${name} must be an integer from 1 to 600, got ${v}\n${USAGE}`);
    process.exit(64);
  }
  return n;
};
const cfg = {
  short: opt.short,
  duration: positive('duration', opt.duration, opt.short ? 2 : 10),
  reps: positive('reps', opt.reps, opt.short ? 1 : 3),
  cold: positive('cold', opt.cold, opt.short ? 3 : 5),
  upstreamThreads: positive('upstream-threads', opt['upstream-threads'], 1),
  /** seconds of each step of the throughput search */
  searchSeconds: opt.short ? 1 : 3,
  /**
   * The warm-up before the fixed rates: 10 s at 10,000 q/s, so that those phases measure a stub in its
   * steady state: V8 is still optimizing dotstub's query path, and its cache fills (and starts evicting)
   * within the first 100k queries. Alternating by hand, p99 at 10k after 2 s at 5,000 q/s: 1.07, 1.97, 2.11,
   * 1.60 ms; after this warm-up: 0.69, 0.61, 1.05, 1.39 (the bare Node forwarder 0.6-0.8 either way); 0.87,
   * 1.47 and 1.34 in the first three full runs with it: dotstub keeps some tail of its own
   * (docs/bench-history.md, "The bench's own sampler"). The C stubs and direct TLS get the same warm-up.
   * --short keeps 1 s at 5,000 q/s.
   */
  warmSeconds: opt.short ? 1 : 10,
  warmQps: opt.short ? 5000 : 10_000,
  /** [clients, outstanding] tried for maximum throughput (the best one is used for the measured run) */
  searchGrid: opt.short
    ? [
        [1, 100],
        [4, 500],
        [16, 2000],
      ]
    : [
        [1, 100],
        [4, 500],
        [16, 2000],
        [32, 4000],
      ],
  rates: [2000, 10000],
  /** dnsperf's clients and outstanding at the fixed rates */
  rateClients: 4,
  rateOutstanding: 1000,
  /** lines of a query file per second of a max-throughput phase (names must not run out) */
  maxLinesPerSecond: 150_000,
};
let targets = TARGETS;
let cacheHit = true;
if (opt.only) {
  const all = opt.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  cacheHit = all.includes('cache-hit');
  const names = all.filter((n) => n !== 'cache-hit');
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length) {
    console.error(
      `bench: unknown target(s) ${unknown.join(', ')}; known: ${TARGETS.map((t) => t.name).join(', ')}`,
    );
    process.exit(64);
  }
  targets = TARGETS.filter((t) => names.includes(t.name));
}

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
const workDir = mkdtempSync(join(tmpdir(), 'dotstub-bench-'));
let cleaning = false;
async function cleanup(code) {
  if (cleaning) return;
  cleaning = true;
  await P.stopAll();
  if (!opt.keep) rmSync(workDir, { recursive: true, force: true });
  else log(`kept ${workDir}`);
  if (code !== undefined) process.exit(code);
}
process.on('exit', () => P.killAllSync());
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    log(`${sig}: stopping every process started`);
    void cleanup(130);
  });

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const ver = (cmd, args, re) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
  };
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpu: model,
    node: process.version,
    kernel: release(),
    // A guest pays for every system call and interrupt it makes (2026-11-23: perf put 27-30 % of a forwarder's
    // CPU in the hypervisor's interrupt-enable path): the figures are this machine's, not a bare-metal one's.
    virtualMachine: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo),
    loadAverage: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    unbound: ver('unbound', ['-V'], /Version (\S+)/),
    // stubby prints its own version (0.3.0 on Debian 12); its package is getdns's (1.6.0)
    stubby: [
      ver('stubby', ['-V'], /(\d+\.\d+\.\d+)/),
      ver('dpkg-query', ['-W', '-f', '${Version}', 'stubby'], /^(\S+)/),
    ]
      .filter(Boolean)
      .join(', Debian package '),
    kresd: ver('kresd', ['--version'], /version (\S+)/),
    dnsperf: ver('dnsperf', ['-h'], /Version (\S+)/),
  };
}

/**
 * The stub's TLS connections to the upstream over one phase, without touching it while it runs: listed at
 * the start and the end, and the ones opened in between counted by the namespace's TCP ActiveOpens (only the
 * stub opens TCP connections during a phase, apart from dnsperf's own `clients` in TCP mode, taken off).
 * `connMax`, the most open at once, is an upper bound: the connections at the start plus those opened, or
 * those at the end if more. Listing connections every 100 ms during the phases, as this did until
 * 2026-11-24, cost 8 ms of kernel time a listing (/proc/net/tcp and tcp6 walk the whole established table)
 * and put every stub's p99 at 10,000 q/s at 2-4 ms: the bare Node forwarder measured 3.0-3.7 ms with that
 * sampler running beside it and 0.6-0.8 without, alternating (direct TLS, with no stub process, never had
 * it).
 */
function connectionCount(pid, upstreamPort, dnsperfOpens) {
  if (!pid) return { stop: () => ({}) };
  const first = P.establishedTo(pid, upstreamPort);
  const opens0 = P.tcpActiveOpens();
  return {
    stop: () => {
      const opens1 = P.tcpActiveOpens();
      const last = P.establishedTo(pid, upstreamPort);
      const opened =
        opens0 === undefined || opens1 === undefined ? 0 : Math.max(0, opens1 - opens0 - dnsperfOpens);
      return {
        connMax: Math.max(last.length, first.length + opened),
        connSeen:
          new Set([...first, ...last]).size +
          Math.max(0, opened - last.filter((p) => !first.includes(p)).length),
        connOpened: opened,
      };
    },
  };
}

/** One dnsperf phase with CPU accounting of the stub (and of the upstream) and connection sampling. */
async function phase(ctx, tgt, port, pid, dp) {
  const cpu0 = pid ? P.cpuSeconds(pid) : undefined;
  const up0 = P.cpuSeconds(ctx.upstreamPid);
  const upQ0 = await unboundQueries(ctx.upstreamConf);
  const sampler = connectionCount(pid, ctx.upstreamPort, tgt.mode === 'tcp' ? (dp.clients ?? 1) : 0);
  const r = await dnsperf({ port, mode: tgt.mode, ...dp });
  Object.assign(r, sampler.stop());
  const upQ1 = await unboundQueries(ctx.upstreamConf);
  if (upQ0 !== undefined && upQ1 !== undefined) r.upstreamQueries = upQ1 - upQ0;
  // The query files ask 90 % existing names, 10 % absent ones: a very different mix of NOERROR and NXDOMAIN
  // means wrong answers (a forwarder answering by itself, say), which would make its figures meaningless.
  // (SERVFAILs are counted apart, as failures, and not as throughput.)
  const good = (r.rcodes.NOERROR ?? 0) + (r.rcodes.NXDOMAIN ?? 0);
  const nxShare = (r.rcodes.NXDOMAIN ?? 0) / good;
  if (good > 1000 && (nxShare < 0.03 || nxShare > 0.3)) {
    r.wrongAnswers = true;
    ctx.errors.push(`${tgt.name}: rcode mix ${JSON.stringify(r.rcodes)} is not the zone's (10 % NXDOMAIN)`);
  }
  if (r.upstreamQueries !== undefined && r.upstreamQueries < good * 0.9) {
    ctx.errors.push(
      `${tgt.name}: ${good} answers but the upstream saw only ${r.upstreamQueries} queries (answered from a cache?)`,
    );
  }
  const answered = r.completed ?? 0;
  if (pid && answered > 0) r.cpuUsPerQuery = ((P.cpuSeconds(pid) - cpu0) * 1e6) / answered;
  if (answered > 0) r.upstreamCpuUsPerQuery = ((P.cpuSeconds(ctx.upstreamPid) - up0) * 1e6) / answered;
  if (!r.ok) log(`  ${tgt.name}: dnsperf failed: ${r.error}`);
  return r;
}

async function coldStarts(ctx, tgt, dir, count) {
  const samples = [];
  let kept;
  for (let i = 0; i < count; i++) {
    const { proc, port } = await startTarget(tgt, ctx, join(dir, `start${i}`));
    const t = await P.pollUntilAnswered(port, probeName(), { everyMs: 5, timeoutMs: 10_000 });
    if (t === undefined) {
      await P.stop(proc);
      throw new Error(`${tgt.name} did not answer within 10 s of starting; see ${proc.logFile}`);
    }
    samples.push(t - proc.startedAt);
    if (i < count - 1) await P.stop(proc);
    else kept = { proc, port };
  }
  return { samples, ...kept };
}

/** `dotstub query` end to end (spawn to exit), each on a fresh process and connection. */
async function queryCommandTimes(ctx, count) {
  const samples = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const r = spawnSync(process.execPath, queryArgs(ctx, probeName()), {
      env: serviceEnv(),
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.status !== 0) throw new Error(`dotstub query failed (exit ${r.status}): ${r.stderr}`);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function runTarget(ctx, tgt, rep) {
  const dir = join(workDir, `${tgt.name}-rep${rep}`);
  mkdirSync(dir, { recursive: true });
  const out = { errors: [] };
  let proc;
  let port = ctx.upstreamPort;
  try {
    if (tgt.starter) {
      if (tgt.name === 'dotstub') out.queryCommandMs = await queryCommandTimes(ctx, cfg.cold);
      const c = await coldStarts(ctx, tgt, dir, cfg.cold);
      out.coldMs = c.samples;
      proc = c.proc;
      port = c.port;
    }
    const pid = proc?.pid;
    // Direct DoT at a fixed rate uses one connection, as a stub would (dnsperf -c 1): with several, each carries
    // a few hundred q/s, where the loopback unbound's answers wait ~10 ms (see README, Benchmarks).
    const base = { clients: tgt.mode === 'dot' ? 1 : cfg.rateClients, outstanding: cfg.rateOutstanding };
    await phase(ctx, tgt, port, pid, {
      ...base,
      file: ctx.files.warm,
      seconds: cfg.warmSeconds,
      qps: cfg.warmQps,
    });
    for (const rate of cfg.rates) {
      out[`r${rate}`] = await phase(ctx, tgt, port, pid, {
        ...base,
        file: ctx.files[`r${rate}`],
        seconds: cfg.duration,
        qps: rate,
        verbose: true,
      });
    }
    // A search in every repetition, each one's maximum with its own pick: one search in the first
    // repetition let a slow spell there pick a setting that held the target back in every repetition
    // (2026-11-24 02:41: dotstub kept -c 1 -q 100 at 24k q/s; 29-31k at -c 4 -q 500 by hand right after).
    out.search = await bestSetting(cfg.searchGrid, async (clients, outstanding, i) => {
      const r = await phase(ctx, tgt, port, pid, {
        file: ctx.files[`s${i}`],
        seconds: cfg.searchSeconds,
        clients,
        outstanding,
      });
      log(
        `  ${tgt.name} search -c ${clients} -q ${outstanding}: ${Math.round(r.okQps ?? 0)} q/s answered, ${r.lost ?? '?'} lost`,
      );
      return r;
    });
    const s = out.search;
    out.max = await phase(ctx, tgt, port, pid, {
      file: ctx.files.max,
      seconds: cfg.duration,
      clients: s.clients,
      outstanding: s.outstanding,
    });
    if (pid) out.peakMemMiB = P.peakRssMiB(pid);
    if (proc && !P.isAlive(proc)) out.errors.push(`${tgt.name} exited during the run; see ${proc.logFile}`);
  } catch (err) {
    out.errors.push(String(err.message ?? err));
    log(`  ${tgt.name}: ${err.message ?? err}`);
  } finally {
    if (proc) await P.stop(proc);
  }
  const fmt = (x) => (x === undefined ? '?' : Math.round(x));
  log(
    `  ${tgt.name} rep ${rep + 1}: max ${fmt(out.max?.okQps)} q/s, p99@10k ${out.r10000?.p99Ms?.toFixed(2) ?? '?'} ms, ` +
      `CPU ${out.max?.cpuUsPerQuery?.toFixed(1) ?? '—'} µs/q, cold ${out.coldMs ? fmt(median(out.coldMs)) : '—'} ms`,
  );
  return out;
}

async function main() {
  const t0 = performance.now();
  if (!existsSync(DOTSTUB_MAIN)) throw new Error(`${DOTSTUB_MAIN} is missing: run npm run build first`);
  if (!opt['no-install']) {
    const r = spawnSync('bash', [join(HERE, 'bench-lib/install.sh')], {
      stdio: ['ignore', 2, 2], // stdout stays for the table
      timeout: 15 * 60_000,
    });
    if (r.status !== 0) throw new Error('installing the Debian packages failed');
  }
  const info = machine();
  log(
    `${info.nproc} CPUs (${info.cpu}), Node ${info.node}, unbound ${info.unbound}, stubby ${info.stubby}, kresd ${info.kresd}, dnsperf ${info.dnsperf}`,
  );
  log(`work dir ${workDir}`);

  const certs = await makeCerts(workDir);
  // Query files, every name unique within a file and the files disjoint, so that no forwarder's cache (fresh
  // per process: each repetition starts the forwarders anew) can answer a query of any phase.
  const files = {};
  const gen = async (key, lines) =>
    (files[key] = await writeQueryFile(join(workDir, `${key}.txt`), lines, `-${key}`));
  if (targets.length > 0) {
    await gen('warm', cfg.warmSeconds * cfg.warmQps + 1000);
    for (const rate of cfg.rates) await gen(`r${rate}`, rate * cfg.duration + rate);
    for (const i of cfg.searchGrid.keys()) await gen(`s${i}`, cfg.searchSeconds * cfg.maxLinesPerSecond);
    await gen('max', cfg.duration * cfg.maxLinesPerSecond);
  }
  log(`certificates and query files ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const upstream = await startUpstream(workDir, certs, cfg.upstreamThreads);
  log(
    `upstream unbound (DoT, ${cfg.upstreamThreads} thread) on 127.0.0.1:${upstream.port}, pid ${upstream.proc.pid}`,
  );
  const ctx = {
    upstreamPort: upstream.port,
    upstreamPid: upstream.proc.pid,
    pin: certs.pin,
    caFile: certs.caFile,
    upstreamConf: upstream.confFile,
    files,
    errors: [],
  };

  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let rep = 0; rep < cfg.reps; rep++) {
    const order = rep % 2 === 0 ? targets : [...targets].reverse();
    log(`repetition ${rep + 1}/${cfg.reps}: ${order.map((t) => t.name).join(', ')}`);
    for (const tgt of order) results[tgt.name].push(await runTarget(ctx, tgt, rep));
  }
  let cache;
  if (cacheHit) {
    log(`cache-hit run: dotstub and the unbound forwarder answering a small name set from their caches`);
    cache = await runCacheHit(ctx, cfg, workDir, log);
  }
  const upstreamQueries = await unboundQueries(upstream.confFile);
  info.loadAverageAtEnd = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  await P.stop(upstream.proc);

  const summaries = targets.map((t) => summarise(t, results[t.name]));
  const rat = ratios(summaries);
  const table = targets.length > 0 ? renderTable(summaries, rat) : '';
  const header =
    `${info.date} — ${info.nproc} × ${info.cpu}, ${info.virtualMachine ? 'virtual machine, ' : ''}Linux ` +
    `${info.kernel}, Node ${info.node}; unbound ${info.unbound}, stubby ${info.stubby}, ` +
    `Knot Resolver ${info.kresd}, dnsperf ${info.dnsperf}; ${cfg.reps} repetition(s) of ${cfg.duration} s phases` +
    `${cfg.short ? ' (--short)' : ''}; upstream unbound num-threads ${cfg.upstreamThreads}; load average ` +
    `${info.loadAverage} at start, ${info.loadAverageAtEnd} at end` +
    (process.env.NODE_EXTRA_CA_CERTS === undefined
      ? ''
      : '; NODE_EXTRA_CA_CERTS is set here and dotstub runs without it, as a service does');
  console.log(`\n${header}\n\n${table}\n`);
  const query = summaries.find((s) => s.queryCommandMs !== undefined);
  if (query)
    console.log(
      `dotstub query, end to end (spawn to exit, a fresh connection each): median ${Math.round(query.queryCommandMs)} ms of ${query.queryCommandSamples}\n`,
    );
  if (cache) console.log(`${cache.table}\n`);
  const errors = [
    ...summaries.flatMap((s) => s.errors.map((e) => `${s.name}: ${e}`)),
    ...(cache?.rows ?? []).flatMap((r) => r.errors.map((e) => `cache-hit ${r.name}: ${e}`)),
    ...new Set(ctx.errors),
  ];
  if (errors.length) console.log(`errors:\n  ${errors.join('\n  ')}`);
  log(
    `done in ${((performance.now() - t0) / 1000).toFixed(0)} s; the upstream answered ${upstreamQueries ?? '?'} queries`,
  );
  if (opt.json) {
    writeFileSync(
      opt.json,
      JSON.stringify(
        { machine: info, config: cfg, upstreamQueries, summaries, ratios: rat, raw: results, table, cache },
        null,
        2,
      ) + '\n',
    );
    log(`wrote ${resolve(opt.json)}`);
  }
  return errors.length ? 1 : 0;
}

main().then(
  (code) => cleanup(code),
  async (err) => {
    log(`error: ${err.stack ?? err}`);
    await cleanup(1);
  },
);
