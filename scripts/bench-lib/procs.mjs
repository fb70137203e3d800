// Process bookkeeping for scripts/bench: every process the benchmark starts is recorded by PID and stopped by
// PID (SIGTERM, then SIGKILL), on normal exit, on errors and on Ctrl-C. Also /proc readers, free ports and a
// one-query UDP probe for cold-start timing.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

/** pid -> ChildProcess for every process started and not yet known to have exited. */
const live = new Map();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `cmd args` with stdout and stderr appended to `logFile` (a file, not a pipe, so a chatty daemon never
 * blocks on a full pipe). Returns { pid, child, exited: Promise<{code, signal}>, startedAt }.
 */
export function start(cmd, args, { logFile, cwd, env } = {}) {
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  const startedAt = performance.now();
  const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', fd, fd] });
  if (typeof fd === 'number') closeSync(fd);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child.pid);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(child.pid);
      resolve({ code: null, signal: null, error: err });
    });
  });
  if (child.pid !== undefined) live.set(child.pid, child);
  return { pid: child.pid, child, exited, startedAt, cmd, logFile };
}

/** Stops one started process by its PID: SIGTERM, SIGKILL after `graceMs`. */
export async function stop(proc, graceMs = 3000) {
  if (!proc || proc.pid === undefined || !live.has(proc.pid)) return;
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = await Promise.race([proc.exited, sleep(graceMs).then(() => 'timeout')]);
  if (t === 'timeout' && live.has(proc.pid)) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await Promise.race([proc.exited, sleep(2000)]);
  }
}

/** Synchronous last resort (process 'exit' handler): SIGKILL every recorded PID. */
export function killAllSync() {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}

export async function stopAll() {
  await Promise.all(
    [...live.values()].map((child) =>
      stop({ pid: child.pid, exited: new Promise((r) => child.once('exit', r)) }),
    ),
  );
}

export function isAlive(proc) {
  return proc.pid !== undefined && live.has(proc.pid);
}

/** Runs a command to completion with a hard time limit; resolves { code, stdout, stderr, ms }. */
export function run(cmd, args, { timeoutMs = 60_000, cwd, input } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) live.set(child.pid, child);
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    const finish = (code, signal) => {
      clearTimeout(timer);
      live.delete(child.pid);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: performance.now() - t0,
      });
    };
    child.once('error', (e) => finish(null, null, e));
    child.once('close', finish);
  });
}

/** A port free for both TCP and UDP on 127.0.0.1 (the caller binds it soon after). */
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port on 127.0.0.1');
}

/** A DNS query (RD set) for name/type as a Buffer. */
export function dnsQuery(id, name, qtype = 1) {
  const labels = name.replace(/\.$/, '').split('.');
  const parts = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  parts.push(Buffer.from([0, qtype >> 8, qtype & 255, 0, 1]));
  return Buffer.concat(parts);
}

/**
 * Sends a UDP query to 127.0.0.1:port every `everyMs` until an answer with the same ID arrives or `timeoutMs`
 * passes. Resolves the time (performance.now()) of the first answer, or undefined.
 */
export function pollUntilAnswered(port, name, { everyMs = 5, timeoutMs = 10_000, rcodeOk = [0, 3] } = {}) {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const q = dnsQuery(id, name);
    let done = false;
    const finish = (t) => {
      if (done) return;
      done = true;
      clearInterval(iv);
      clearTimeout(limit);
      sock.close();
      resolve(t);
    };
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && msg[2] & 0x80 && rcodeOk.includes(msg[3] & 15))
        finish(performance.now());
    });
    sock.on('error', () => {
      /* ICMP port unreachable before the listener is up: keep polling */
    });
    const send = () => {
      if (!done) sock.send(q, port, '127.0.0.1', () => {});
    };
    const iv = setInterval(send, everyMs);
    const limit = setTimeout(() => finish(undefined), timeoutMs);
    send();
  });
}

/** utime + stime of a process, in seconds (from /proc/PID/stat; clock ticks assumed 100 Hz, as on Linux). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is state (field 3); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** VmHWM (peak resident set) in MiB, or undefined. */
export function peakRssMiB(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The TCP connections this network namespace has opened so far (Tcp ActiveOpens in /proc/net/snmp, RFC
 * 4022's tcpActiveOpens): a counter read in constant time, where listing connections walks the kernel's
 * whole established table (establishedTo below).
 */
export function tcpActiveOpens() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Tcp:'));
    const names = lines[0].trim().split(/\s+/);
    const values = lines[1].trim().split(/\s+/);
    const n = Number(values[names.indexOf('ActiveOpens')]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * ESTABLISHED TCP connections owned by `pid` whose remote port is `remotePort` (socket inodes from
 * /proc/PID/fd matched against /proc/net/tcp). Returns the local ports. Costly: each call walks the kernel's
 * established-connection table (4 ms a file for its 262,144 buckets on the 2-core bench guest), so call it
 * outside measured traffic (bench.mjs's connectionCount).
 */
export function establishedTo(pid, remotePort) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        /* fd closed meanwhile */
      }
    }
  } catch {
    return [];
  }
  const hexPort = remotePort.toString(16).toUpperCase().padStart(4, '0');
  // A Set: /proc/net/tcp is not read atomically, and a line can show up twice while connections come and go.
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      // f[1] local addr:port, f[2] remote addr:port, f[3] state (01 = ESTABLISHED), f[9] inode
      if (f[3] === '01' && f[2].endsWith(':' + hexPort) && inodes.has(f[9]))
        ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return [...ports];
}
