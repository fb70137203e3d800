#!/usr/bin/env node
// Soak run: a loopback unbound serving DoT (scripts/bench-lib), dotstub (dist/) pinned to it, and a mix of
// UDP and TCP clients asking at a fixed total rate for a fixed time. Prints queries sent, answered,
// SERVFAIL, lost, dotstub's peak memory (VmHWM) and the upstream connections it opened. Every process it
// starts is stopped by PID.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import {
  start,
  stop,
  stopAll,
  killAllSync,
  freePort,
  pollUntilAnswered,
  peakRssMiB,
  establishedTo,
  dnsQuery,
  sleep,
} from './bench-lib/procs.mjs';
import {
  HOSTS,
  ZONE,
  loopbackRunArgs,
  makeCerts,
  startUpstream,
  unboundQueries,
} from './bench-lib/setup.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HELP = `usage: scripts/soak [--udp N] [--tcp N] [--rate QPS] [--duration SECONDS] [--timeout MS] [--keep]
  --udp N        UDP clients (default 20)
  --tcp N        TCP clients, one connection each, queries in turn (default 5)
  --rate QPS     total queries a second over all clients (default 200, at most 20000)
  --duration S   seconds of load (default 30, at most 3600)
  --timeout MS   a query without a reply after this long counts as lost (default 6000)
  --keep         keep the work directory (logs, configs)`;

const { values } = parseArgs({
  options: {
    udp: { type: 'string', default: '20' },
    tcp: { type: 'string', default: '5' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '30' },
    timeout: { type: 'string', default: '6000' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name, min, max) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`soak: --${name} must be a number from ${min} to ${max}, not ${values[name]}\n${HELP}`);
    process.exit(64);
  }
  return n;
};
const cfg = {
  udp: num('udp', 0, 2000),
  tcp: num('tcp', 0, 500),
  rate: num('rate', 1, 20_000),
  duration: num('duration', 1, 3600),
  timeout: num('timeout', 100, 60_000),
};
if (cfg.udp + cfg.tcp === 0) {
  console.error('soak: at least one client (--udp or --tcp)');
  process.exit(64);
}

const stats = { sent: 0, answered: 0, servfail: 0, other: 0, lost: 0 };
let seq = 0;
const nextName = () => `s${seq}-${process.pid}.h${seq++ % HOSTS}.${ZONE}`;
const tally = (msg) => {
  const rcode = msg[3] & 15;
  if (rcode === 0 || rcode === 3) stats.answered++;
  else if (rcode === 2) stats.servfail++;
  else stats.other++;
};

/** One UDP client: its own socket, one query every `everyMs`, each with its own ID and deadline. */
async function udpClient(port, everyMs, until) {
  const sock = createSocket('udp4');
  const pending = new Map();
  sock.on('message', (msg) => {
    const t = pending.get(msg.readUInt16BE(0));
    if (t === undefined) return;
    clearTimeout(t);
    pending.delete(msg.readUInt16BE(0));
    tally(msg);
  });
  let id = 0;
  while (performance.now() < until) {
    id = (id + 1) & 0xffff;
    const qid = id;
    pending.set(
      qid,
      setTimeout(() => pending.delete(qid) && stats.lost++, cfg.timeout),
    );
    stats.sent++;
    sock.send(dnsQuery(qid, nextName()), port, '127.0.0.1');
    await sleep(everyMs);
  }
  while (pending.size > 0) await sleep(50);
  sock.close();
}

/** One TCP client: one connection, pipelined queries paced like the UDP ones. */
async function tcpClient(port, everyMs, until) {
  const sock = connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  sock.on('error', () => undefined);
  await new Promise((r) => sock.once('connect', r));
  const pending = new Map();
  let buf = Buffer.alloc(0);
  sock.on('data', (c) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      const t = pending.get(msg.readUInt16BE(0));
      if (t === undefined) continue;
      clearTimeout(t);
      pending.delete(msg.readUInt16BE(0));
      tally(msg);
    }
  });
  let id = 0;
  while (performance.now() < until && !sock.destroyed) {
    id = (id + 1) & 0xffff;
    const qid = id;
    pending.set(
      qid,
      setTimeout(() => pending.delete(qid) && stats.lost++, cfg.timeout),
    );
    stats.sent++;
    const q = dnsQuery(qid, nextName());
    const framed = Buffer.alloc(q.length + 2);
    framed.writeUInt16BE(q.length, 0);
    q.copy(framed, 2);
    sock.write(framed);
    await sleep(everyMs);
  }
  while (pending.size > 0) await sleep(50);
  sock.destroy();
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'dotstub-soak-'));
  process.on('exit', killAllSync);
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const certs = await makeCerts(dir);
    const upstream = await startUpstream(dir, certs, 1);
    const port = await freePort();
    const dotstub = start(
      process.execPath,
      [join(ROOT, 'dist/src/cli/main.js'), ...loopbackRunArgs(port, { certs, upstream }, 'warn')],
      { logFile: join(dir, 'dotstub.log'), cwd: ROOT },
    );
    if ((await pollUntilAnswered(port, `ready.h1.${ZONE}`, { timeoutMs: 20_000 })) === undefined)
      throw new Error(`dotstub did not answer; see ${join(dir, 'dotstub.log')}`);
    const clients = cfg.udp + cfg.tcp;
    const everyMs = (1000 * clients) / cfg.rate;
    console.log(
      `soak: ${cfg.udp} UDP + ${cfg.tcp} TCP clients, ${cfg.rate} q/s for ${cfg.duration} s (dotstub pid ${dotstub.pid}, unbound pid ${upstream.proc.pid})`,
    );
    const before = (await unboundQueries(upstream.confFile)) ?? 0;
    const seenPorts = new Set();
    const sampler = setInterval(() => {
      for (const p of establishedTo(dotstub.pid, upstream.port)) seenPorts.add(p);
    }, 200);
    const until = performance.now() + cfg.duration * 1000;
    await Promise.all([
      ...Array.from({ length: cfg.udp }, (_, i) =>
        sleep((i * everyMs) / clients).then(() => udpClient(port, everyMs, until)),
      ),
      ...Array.from({ length: cfg.tcp }, (_, i) =>
        sleep(((cfg.udp + i) * everyMs) / clients).then(() => tcpClient(port, everyMs, until)),
      ),
    ]);
    clearInterval(sampler);
    const after = (await unboundQueries(upstream.confFile)) ?? 0;
    const report = {
      sent: stats.sent,
      answered: stats.answered,
      servfail: stats.servfail,
      otherRcode: stats.other,
      lost: stats.lost,
      dotstubPeakRssMiB: Number((peakRssMiB(dotstub.pid) ?? NaN).toFixed(1)),
      upstreamConnectionsOpened: seenPorts.size,
      upstreamQueries: after - before,
    };
    for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(26)} ${v}`);
    console.log(
      "(connections opened: distinct local ports of dotstub's connections to unbound, sampled every 200 ms)",
    );
    await stop(dotstub);
    await stop(upstream.proc);
    return stats.lost === 0 ? 0 : 1;
  } finally {
    await stopAll();
    if (values.keep) console.log(`work directory kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak: ${err.message}`);
    process.exit(1);
  },
);
