// Test PKI, the local zone, the query files and the upstream unbound (DNS-over-TLS on 127.0.0.1).
import { createHash, X509Certificate } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:tls';
import { run, start, sleep, freePort, stop } from './procs.mjs';

export const AUTH_NAME = 'dot.test';
export const ZONE = 'bench.test';
/** Names of the zone: h0 … h{HOSTS-1}.bench.test, each with A, AAAA and TXT. */
export const HOSTS = 3000;

/**
 * `dotstub run`'s arguments against the bench's upstream: Strict, with its pin and CA, listening on
 * 127.0.0.1@`port`. The bench, the soak and the instruction count start dotstub the same way.
 */
export function runArgs({ port, upstreamPort, pin, caFile, logLevel = 'warn' }) {
  return [
    'run',
    '--listen',
    `127.0.0.1@${port}`,
    '--upstream',
    `127.0.0.1#${upstreamPort}~${AUTH_NAME}`,
    '-K',
    `pin-sha256="${pin}"`,
    '--ca-file',
    caFile,
    '--log-level',
    logLevel,
  ];
}

/** RFC 7858 pin: base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER). */
export function spkiPin(pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

async function openssl(args) {
  const r = await run('openssl', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
}

/** A throw-away CA and a P-256 leaf for dot.test (SAN DNS:dot.test, IP:127.0.0.1). */
export async function makeCerts(dir) {
  const f = (n) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=dotstub bench CA',
  ]);
  await openssl(['req', ...ec, '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${AUTH_NAME}`]);
  writeFileSync(
    f('leaf.ext'),
    `subjectAltName=DNS:${AUTH_NAME},IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n` +
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    f('leaf.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('leaf.pem'),
    '-days',
    '2',
    '-extfile',
    f('leaf.ext'),
  ]);
  const leaf = readFileSync(f('leaf.pem'), 'utf8');
  writeFileSync(f('chain.pem'), leaf + readFileSync(f('ca.pem'), 'utf8'));
  return { caFile: f('ca.pem'), keyFile: f('leaf.key'), chainFile: f('chain.pem'), pin: spkiPin(leaf) };
}

/**
 * The zone, as unbound.conf lines. bench.test is a static zone (anything not listed is NXDOMAIN); each host
 * h<i>.bench.test is a `redirect` local-zone with an A, an AAAA and a TXT record, so that every name *below*
 * it (q123-x.h5.bench.test) gets that host's records. That is what lets every query of a run carry a name
 * never asked before, so no cache (unbound's, Knot Resolver's) can answer it, while answers stay realistic.
 */
export function zoneLines() {
  const lines = [
    `  local-zone: "${ZONE}." static`,
    `  local-data: "${ZONE}. 300 IN SOA ns.${ZONE}. admin.${ZONE}. 1 3600 600 86400 300"`,
  ];
  for (let i = 0; i < HOSTS; i++) {
    const name = `h${i}.${ZONE}.`;
    lines.push(
      `  local-zone: "${name}" redirect`,
      `  local-data: "${name} 300 IN A 10.${(i >> 8) & 255}.${i & 255}.1"`,
      `  local-data: "${name} 300 IN AAAA fd00::${(0x1000 + i).toString(16)}"`,
      `  local-data: '${name} 300 IN TXT "bench-txt-${i}-${'t'.repeat(i % 40)}"'`,
    );
  }
  return lines;
}

const TYPES = ['A', 'AAAA', 'A', 'TXT', 'A', 'AAAA', 'A', 'A', 'TXT'];

/**
 * Writes a dnsperf query file of `count` lines, every name unique (tagged with `tag`): A, AAAA and TXT for
 * names below the hosts, and every 10th line a name absent from the zone (NXDOMAIN).
 */
export async function writeQueryFile(file, count, tag) {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9) chunk += `q${i}${tag}.absent${i % HOSTS}.${ZONE} A\n`;
    else chunk += `q${i}${tag}.h${i % HOSTS}.${ZONE} ${TYPES[i % TYPES.length]}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return file;
}

/** A name the cold-start probe asks (unique per call, so no forwarder's cache could have it). */
let probeSeq = 0;
export function probeName() {
  probeSeq++;
  return `probe${probeSeq}-${process.pid}.h${probeSeq % HOSTS}.${ZONE}`;
}

function upstreamConf(dir, port, certs, threads) {
  return [
    'server:',
    `  interface: 127.0.0.1@${port}`,
    `  tls-port: ${port}`,
    `  tls-service-key: "${certs.keyFile}"`,
    `  tls-service-pem: "${certs.chainFile}"`,
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    `  num-threads: ${threads}`,
    '  do-ip4: yes',
    '  do-ip6: no',
    '  do-udp: no',
    '  do-tcp: yes',
    '  access-control: 127.0.0.0/8 allow',
    '  module-config: "iterator"',
    '  pad-responses: yes',
    '  edns-tcp-keepalive: yes',
    '  incoming-num-tcp: 256',
    '  outgoing-num-tcp: 0',
    '  so-reuseport: yes',
    '  statistics-interval: 0',
    '  statistics-cumulative: yes',
    '  local-zone: "." refuse',
    ...zoneLines(),
    'remote-control:',
    '  control-enable: yes',
    `  control-interface: "${join(dir, 'upstream-ctl.sock')}"`,
    '  control-use-cert: no',
    '',
  ].join('\n');
}

/** Whether a TLS handshake to 127.0.0.1:port presents the expected leaf. */
function handshakeOk(port, pin) {
  return new Promise((resolve) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      servername: AUTH_NAME,
      rejectUnauthorized: false,
      timeout: 1000,
    });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('secureConnect', () => {
      const c = s.getPeerX509Certificate();
      done(c !== undefined && spkiPin(c.toString()) === pin);
    });
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

/** Starts the upstream unbound (DoT only) on a free port; waits for a pinned handshake. */
export async function startUpstream(dir, certs, threads) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const confFile = join(dir, 'upstream.conf');
    writeFileSync(confFile, upstreamConf(dir, port, certs, threads));
    const proc = start('unbound', ['-d', '-c', confFile], { logFile: join(dir, 'upstream.log') });
    const deadline = performance.now() + 15_000;
    while (performance.now() < deadline) {
      if (await handshakeOk(port, certs.pin)) return { port, proc, confFile };
      if (proc.child.exitCode !== null) break;
      await sleep(100);
    }
    await stop(proc);
  }
  throw new Error(`upstream unbound did not start; see ${join(dir, 'upstream.log')}`);
}

/**
 * The one-off measuring scripts' setup (count-instructions.mjs, profile-categories.mjs): a temporary
 * directory removed at exit, the test PKI and a one-thread loopback unbound in it.
 */
export async function loopbackUpstream(prefix) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  for (const dir of ['certs', 'unbound']) mkdirSync(join(work, dir));
  const certs = await makeCerts(join(work, 'certs'));
  const upstream = await startUpstream(join(work, 'unbound'), certs, 1);
  return { work, certs, upstream };
}

/** runArgs() against the test PKI and loopback unbound of loopbackUpstream() (or of the soak's own setup). */
export function loopbackRunArgs(port, { certs, upstream }, logLevel = 'error') {
  return runArgs({ port, upstreamPort: upstream.port, pin: certs.pin, caFile: certs.caFile, logLevel });
}

/** Takes `--name VALUE` out of `args` (a script's argv) as a number, or gives `fallback`. */
export function takeNumber(args, name, fallback) {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  return Number(value);
}

/** `total.num.queries` of an unbound, from unbound-control. */
export async function unboundQueries(confFile) {
  const r = await run('unbound-control', ['-c', confFile, 'stats_noreset'], { timeoutMs: 10_000 });
  const m = /^total\.num\.queries=(\d+)$/m.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}
