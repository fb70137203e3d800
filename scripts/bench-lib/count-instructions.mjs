#!/usr/bin/env node
// Instructions a forwarded query costs in user space, counted by valgrind (cachegrind, no cache
// simulation): a measure of CPU per query that does not move with the guest's fast and slow spells, for
// A/B comparisons between two builds. Each MAIN runs under valgrind with V8 single-threaded, answers N1,
// then (a fresh process) N2 unique names from dnsperf (UDP, -c 4 -q 200) against a loopback unbound DoT
// upstream; (Ir(N2) - Ir(N1)) / (N2 - N1) takes start-up and shutdown out.
//
//   node scripts/bench-lib/count-instructions.mjs [--n1 20000] [--n2 60000] MAIN [MAIN...]
//   MAIN: dist/src/cli/dotstub.mjs, scripts/bench-lib/bare-forwarder.mjs or another build's bin.
//
// Repeatable within 0.2-2 % here. Caveat: V8's JIT code counts several times the instructions it takes
// natively in byte loops (sameQuestion: 1,100 instructions and 50 ns), so it ranks C++, builtins and
// allocation better than JavaScript; confirm a JavaScript change natively. Kernel time is not counted.
// Needs valgrind, unbound, dnsperf and dig (Debian: valgrind, unbound, dnsperf, bind9-dnsutils).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loopbackRunArgs, loopbackUpstream, takeNumber, writeQueryFile } from './setup.mjs';
import { serviceEnv } from './targets.mjs';
import { freePort, pollUntilAnswered, run, start, stop, stopAll } from './procs.mjs';

const args = process.argv.slice(2);
const n1 = takeNumber(args, '--n1', 20_000);
const n2 = takeNumber(args, '--n2', 60_000);
const mains = args.map((a) => resolve(a));
if (mains.length === 0 || !(n2 > n1)) {
  console.error('usage: count-instructions.mjs [--n1 20000] [--n2 60000] MAIN [MAIN...]');
  process.exit(2);
}

/** Instructions (Ir) of one valgrind run of `main` answering the first `count` names of `queries`. */
async function countRun(main, upstream, certs, queries, count, tag) {
  const file = join(work, `q-${count}`);
  await run('sh', ['-c', `head -n ${count} '${queries}' > '${file}'`]);
  const port = await freePort();
  const log = join(work, `vg-${tag}.log`);
  const daemon = start(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      `--log-file=${log}`,
      process.execPath,
      '--single-threaded',
      main,
      ...loopbackRunArgs(port, { certs, upstream }),
    ],
    { env: serviceEnv() },
  );
  try {
    // Under valgrind start-up takes seconds: the first answer says it is ready.
    if (
      (await pollUntilAnswered(port, `ready.h1.bench.test`, { everyMs: 500, timeoutMs: 120_000 })) ===
      undefined
    )
      throw new Error(`${main} never answered under valgrind (log: ${log})`);
    const perf = await run(
      'dnsperf',
      [
        '-s',
        '127.0.0.1',
        '-p',
        String(port),
        '-m',
        'udp',
        '-d',
        file,
        '-n',
        '1',
        '-c',
        '4',
        '-q',
        '200',
        '-t',
        '10',
      ],
      { timeoutMs: 900_000 },
    );
    const lost = /Queries lost:\s+(\d+)/.exec(perf.stdout)?.[1];
    if (lost !== '0') throw new Error(`dnsperf lost ${lost ?? '?'} queries: ${perf.stdout}${perf.stderr}`);
  } finally {
    await stop(daemon, 60_000);
  }
  const ir = /I\s+refs:\s+([\d,]+)/.exec(readFileSync(log, 'utf8'))?.[1];
  if (ir === undefined) throw new Error(`no instruction count in ${log}`);
  return Number(ir.replaceAll(',', ''));
}

/** The temporary directory of this run (loopbackUpstream's). */
let work = '';

try {
  const setup = await loopbackUpstream('dotstub-instr-');
  work = setup.work;
  const { certs, upstream } = setup;
  const queries = join(work, 'queries');
  await writeQueryFile(queries, n2, 'i');
  for (const [i, main] of mains.entries()) {
    const a = await countRun(main, upstream, certs, queries, n1, `${i}-a`);
    const b = await countRun(main, upstream, certs, queries, n2, `${i}-b`);
    console.log(`${Math.round((b - a) / (n2 - n1))} instructions a query  ${main}`);
  }
} finally {
  await stopAll();
}
