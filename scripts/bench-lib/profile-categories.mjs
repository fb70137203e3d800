#!/usr/bin/env node
// Where a forwarded query's CPU goes, by category, for one or more builds side by side: the stub's own
// JavaScript, Node's JavaScript, V8's builtins and C++, garbage collection, OpenSSL, libc, libuv, Node's C++
// and the kernel. Each MAIN runs under `node --perf-basic-prof` against a loopback unbound DoT upstream,
// gets 5 s at 10,000 q/s, then dnsperf's maximum (UDP, -c 4 -q 500, unique names) while `perf record`
// samples it; its CPU a query comes from /proc, shared out by the samples.
//
//   node scripts/bench-lib/profile-categories.mjs [--seconds 8] [--top 20] MAIN [MAIN...]
//   MAIN: dist/src/cli/dotstub.mjs, scripts/bench-lib/bare-forwarder.mjs or another build's bin.
//
// On a guest whose speed comes and goes, the totals move from run to run; the shares within one run, and a
// category's difference between two builds run back to back, move much less (docs/bench-history.md, "Where
// the rest goes, by category"). --top lists the first MAIN's costliest functions of its own code. A sample
// counts where TurboFan put the code: Node's functions inlined into the stub's count as the stub's.
// Needs perf (Debian: linux-perf), unbound, dnsperf and dig.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loopbackRunArgs, loopbackUpstream, takeNumber, writeQueryFile } from './setup.mjs';
import { serviceEnv } from './targets.mjs';
import { cpuSeconds, freePort, pollUntilAnswered, run, start, stop, stopAll } from './procs.mjs';

const args = process.argv.slice(2);
const seconds = takeNumber(args, '--seconds', 8);
const top = takeNumber(args, '--top', 0);
const mains = args.map((a) => resolve(a));
if (mains.length === 0 || !(seconds > 0)) {
  console.error('usage: profile-categories.mjs [--seconds 8] [--top 20] MAIN [MAIN...]');
  process.exit(2);
}

/** The category of one sampled symbol, by the object it ran in and its name. */
function category(dso, sym) {
  if (dso.startsWith('[kernel')) return 'kernel';
  // Node links OpenSSL into its own binary: told by the symbol's prefix.
  if (
    /libcrypto|libssl/.test(dso) ||
    /^(EVP_|SSL_|ssl3?_|tls1?3?_|ossl_|OPENSSL_|CRYPTO_|BIO_|ERR_|aesni|_?aesni|gcm_|_?gcm|sha\d|ChaCha|OBJ_)/.test(
      sym,
    )
  )
    return 'OpenSSL';
  if (dso.startsWith('[JIT]') || dso.startsWith('perf-')) {
    if (sym.includes('file://')) return 'own JavaScript';
    if (sym.startsWith('JS:')) return "Node's JavaScript";
    return 'V8 builtins';
  }
  if (/^libc[.-]/.test(dso)) return 'libc';
  if (sym.startsWith('Builtins_')) return 'V8 builtins';
  if (/Scaveng|ArrayBufferSweeper|Marking|Heap::|heap::|Evacuat|IterateObjectCache|Sweeper/.test(sym))
    return 'garbage collection';
  if (/^(v8::|Builtin_|Runtime_)/.test(sym)) return "V8's C++";
  if (sym.startsWith('node::')) return "Node's C++";
  if (/^uv_|^uv__/.test(sym)) return 'libuv';
  return 'other';
}

/** perf report's self samples by (object, symbol). */
async function samples(file) {
  const out = await run(
    'perf',
    ['report', '-i', file, '--no-children', '--stdio', '--sort', 'dso,sym', '-F', 'sample,dso,sym'],
    { timeoutMs: 300_000 },
  );
  if (out.code !== 0) throw new Error(`perf report failed: ${out.stderr}`);
  const rows = [];
  for (const line of out.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.+?)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (m) rows.push({ n: Number(m[1]), dso: m[2], sym: m[4].trim() });
  }
  return rows;
}

/** One MAIN at the maximum: its CPU a query, and that CPU by category and by its own functions. */
async function profile(main, upstream, certs, files, tag) {
  const port = await freePort();
  const daemon = start(
    process.execPath,
    ['--perf-basic-prof', main, ...loopbackRunArgs(port, { certs, upstream })],
    { env: serviceEnv(), logFile: join(work, `daemon-${tag}.log`) },
  );
  const perfData = join(work, `perf-${tag}.data`);
  try {
    if (
      (await pollUntilAnswered(port, 'ready.h1.bench.test', { everyMs: 100, timeoutMs: 20_000 })) ===
      undefined
    )
      throw new Error(`${main} never answered (log: ${daemon.logFile})`);
    const dnsperf = (file, extra) =>
      run('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-m', 'udp', '-d', file, '-n', '1', ...extra], {
        timeoutMs: (seconds + 30) * 1000,
      });
    await dnsperf(files.warm, ['-l', '5', '-Q', '10000', '-c', '4', '-q', '500']);
    const recorder = start('perf', ['record', '-F', '999', '-p', String(daemon.pid), '-o', perfData], {
      logFile: join(work, `perf-${tag}.log`),
    });
    const cpu0 = cpuSeconds(daemon.pid);
    const load = await dnsperf(files.max, ['-l', String(seconds), '-c', '4', '-q', '500', '-t', '2']);
    const cpu = cpuSeconds(daemon.pid) - cpu0;
    await stop(recorder, 10_000);
    const answered = Number(/Queries completed:\s+(\d+)/.exec(load.stdout)?.[1] ?? 0);
    if (answered === 0) throw new Error(`no answers from ${main}: ${load.stdout}${load.stderr}`);
    const rows = await samples(perfData);
    const total = rows.reduce((n, r) => n + r.n, 0);
    const usPerQuery = (cpu * 1e6) / answered;
    const byCategory = new Map();
    for (const r of rows) {
      const c = category(r.dso, r.sym);
      byCategory.set(c, (byCategory.get(c) ?? 0) + (r.n / total) * usPerQuery);
    }
    const own = rows
      .filter((r) => category(r.dso, r.sym) === 'own JavaScript')
      .map((r) => ({ us: (r.n / total) * usPerQuery, sym: r.sym.replace(/file:\/\/\S+\//, '') }))
      .sort((a, b) => b.us - a.us);
    return { main, usPerQuery, qps: answered / seconds, byCategory, own };
  } finally {
    await stop(daemon, 10_000);
    rmSync(`/tmp/perf-${daemon.pid}.map`, { force: true });
  }
}

/** The temporary directory of this run (loopbackUpstream's). */
let work = '';

try {
  const setup = await loopbackUpstream('dotstub-profile-');
  work = setup.work;
  const { certs, upstream } = setup;
  const results = [];
  for (const [i, main] of mains.entries()) {
    // New names for every run (the cache answers none of them), enough for 100,000 q/s.
    const files = {
      warm: await writeQueryFile(join(work, `warm-${i}`), 60_000, `w${i}`),
      max: await writeQueryFile(join(work, `max-${i}`), seconds * 100_000, `m${i}`),
    };
    results.push(await profile(main, upstream, certs, files, String(i)));
  }
  const categories = [...new Set(results.flatMap((r) => [...r.byCategory.keys()]))].sort(
    (a, b) => (results[0].byCategory.get(b) ?? 0) - (results[0].byCategory.get(a) ?? 0),
  );
  const cell = (v) => (v ?? 0).toFixed(2).padStart(9);
  console.log(`µs a query at the maximum, by category (dnsperf -c 4 -q 500, ${seconds} s):`);
  results.forEach((r, i) => console.log(`  [${i}] ${r.main}: ${Math.round(r.qps)} q/s`));
  console.log(`${''.padEnd(20)}${results.map((_, i) => `[${i}]`.padStart(9)).join('')}`);
  console.log(`${'total'.padEnd(20)}${results.map((r) => cell(r.usPerQuery)).join('')}`);
  for (const c of categories)
    console.log(`${c.padEnd(20)}${results.map((r) => cell(r.byCategory.get(c))).join('')}`);
  if (top > 0) {
    console.log(`\n[0]'s own functions (µs a query of self time):`);
    for (const f of results[0].own.slice(0, top)) console.log(`${f.us.toFixed(3).padStart(8)}  ${f.sym}`);
  }
} finally {
  await stopAll();
}
