// A real unbound serving DNS-over-TLS on loopback: the upstream dotstub talks to in the interop suite.
// It is authoritative for interop.test (zone.ts) and refuses everything else, so nothing leaves the machine.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { connect } from 'node:tls';
import { freePort, withFreePort, makeTempDir, peerPath, runTool, sleep, describeResult } from './peers.js';
import { ManagedProcess, type ProcessExit } from './processes.js';
import { localDataLines } from './zone.js';

export const AUTH_NAME = 'dot.test';

/** RFC 7858 pin: base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo (DER). */
export function spkiPin(cert: string | X509Certificate): string {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** A well-formed pin that matches no key in the chain unbound presents. */
export function wrongPin(): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64');
}

export interface TestCerts {
  readonly dir: string;
  readonly caFile: string;
  readonly caPin: string;
  readonly leafFile: string;
  readonly keyFile: string;
  /** Leaf then CA: what unbound presents. */
  readonly chainFile: string;
  readonly leafPin: string;
}

async function openssl(args: readonly string[]): Promise<void> {
  const r = await runTool('openssl', args, 30_000);
  if (r.code !== 0) throw new Error(`openssl failed\n${describeResult(r)}`);
}

/** A throw-away CA and a leaf for dot.test (SAN DNS:dot.test, IP:127.0.0.1), made with the openssl CLI. */
export async function makeCerts(dir: string): Promise<TestCerts> {
  const f = (name: string): string => join(dir, name);
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
    '/CN=dotstub interop CA',
  ]);
  await openssl(['req', ...ec, '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${AUTH_NAME}`]);
  writeFileSync(
    f('leaf.ext'),
    [
      `subjectAltName=DNS:${AUTH_NAME},IP:127.0.0.1`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
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
  const ca = readFileSync(f('ca.pem'), 'utf8');
  writeFileSync(f('chain.pem'), leaf + ca);
  return {
    dir,
    caFile: f('ca.pem'),
    caPin: spkiPin(ca),
    leafFile: f('leaf.pem'),
    keyFile: f('leaf.key'),
    chainFile: f('chain.pem'),
    leafPin: spkiPin(leaf),
  };
}

export interface UnboundOptions {
  /**
   * Also serve clear DNS over UDP and TCP on this loopback port (`interface: 127.0.0.1@PORT`, no TLS):
   * a number, or 'free' for a free port. @default no clear interface
   */
  readonly clearPort?: number | 'free';
  /**
   * Serve DNS-over-TLS on `port`. false: no TLS interface at all, and `port` is a port nothing listens on
   * (a clear port is then required). @default true
   */
  readonly tls?: boolean;
  /** The DoT port, e.g. the one of an earlier unbound being replaced. @default a free port */
  readonly port?: number;
  /**
   * The certificates to present, e.g. shared by unbounds started one after another (the caller owns their
   * directory). @default fresh ones in this unbound's temp dir
   */
  readonly certs?: TestCerts;
}

export interface UnboundServer {
  /**
   * TCP port of unbound's DoT listener on 127.0.0.1; with `tls: false`, a port nothing listens on (a free
   * port when unbound started).
   */
  readonly port: number;
  /** The clear DNS (UDP and TCP) port on 127.0.0.1, when one was asked for. */
  readonly clearPort: number | undefined;
  /** Whether unbound serves DoT on `port`. */
  readonly tls: boolean;
  /** SPKI pin of the leaf certificate unbound presents. */
  readonly pin: string;
  readonly caFile: string;
  readonly certDir: string;
  readonly confFile: string;
  readonly process: ManagedProcess;
  /** Queries unbound has received since it started (`total.num.queries` from unbound-control). */
  queriesReceived(): Promise<number>;
  /** Queries unbound has received over TLS since it started (`num.query.tls`, extended statistics). */
  tlsQueriesReceived(): Promise<number>;
  stop(): Promise<ProcessExit>;
}

interface Listeners {
  /** The DoT port, or undefined for no TLS interface. */
  readonly tlsPort: number | undefined;
  readonly clearPort: number | undefined;
}

function unboundConf(dir: string, port: number, certs: TestCerts, listeners?: Listeners): string {
  // Without listeners: the DoT-only configuration every other test file uses.
  const tlsPort = listeners ? listeners.tlsPort : port;
  const clearPort = listeners?.clearPort;
  return [
    'server:',
    ...(clearPort === undefined ? [] : [`  interface: 127.0.0.1@${clearPort}`]),
    ...(tlsPort === undefined
      ? []
      : [
          `  interface: 127.0.0.1@${tlsPort}`,
          `  tls-port: ${tlsPort}`,
          `  tls-service-key: "${certs.keyFile}"`,
          `  tls-service-pem: "${certs.chainFile}"`,
        ]),
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  num-threads: 1',
    '  do-ip4: yes',
    '  do-ip6: no',
    // DoT only: clear UDP would need the same port free for UDP too, and nothing here uses it. A clear
    // interface needs UDP (dotstub's clear-text fallback asks over UDP, and over TCP on TC).
    `  do-udp: ${clearPort === undefined ? 'no' : 'yes'}`,
    '  do-tcp: yes',
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: yes',
    '  module-config: "iterator"',
    '  pad-responses: yes',
    '  edns-tcp-keepalive: yes',
    '  incoming-num-tcp: 64',
    '  statistics-interval: 0',
    '  statistics-cumulative: yes',
    '  extended-statistics: yes',
    // Authoritative answers for interop.test; every other name is refused, so unbound never recurses out.
    '  local-zone: "." refuse',
    '  local-zone: "interop.test." static',
    ...localDataLines(),
    'remote-control:',
    '  control-enable: yes',
    `  control-interface: "${join(dir, 'ctl.sock')}"`,
    '  control-use-cert: no',
    '',
  ].join('\n');
}

/** Completes a TLS handshake without sending a query (so the query counter stays 0) and checks the pin. */
async function tlsHandshake(port: number, expectedPin: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: AUTH_NAME,
      rejectUnauthorized: false,
      timeout: 2000,
    });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      done(cert !== undefined && spkiPin(cert) === expectedPin);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('timeout', () => {
      done(false);
    });
  });
}

async function waitUntilServing(proc: ManagedProcess, port: number, pin: string): Promise<void> {
  const deadline = performance.now() + 15_000;
  for (let attempt = 0; attempt < 150 && performance.now() < deadline; attempt++) {
    if (proc.exitStatus) throw new Error(`unbound exited during startup\n${proc.tail()}`);
    if (await tlsHandshake(port, pin)) return;
    await sleep(100);
  }
  throw new Error(
    `unbound did not complete a TLS handshake on 127.0.0.1:${port} within 15 s\n${proc.tail()}`,
  );
}

/** One counter from `unbound-control stats_noreset`, e.g. `total.num.queries`. */
async function readStatistic(confFile: string, name: string): Promise<number> {
  const r = await runTool('unbound-control', ['-c', confFile, 'stats_noreset'], 10_000);
  const match = new RegExp(`^${name.replaceAll('.', '\\.')}=(\\d+)$`, 'm').exec(r.stdout);
  if (r.code !== 0 || !match?.[1])
    throw new Error(`cannot read ${name} from unbound statistics\n${describeResult(r)}`);
  return Number(match[1]);
}

async function readQueryCount(confFile: string): Promise<number> {
  return readStatistic(confFile, 'total.num.queries');
}

/** Whether 127.0.0.1:port accepts a TCP connection; opens and closes it without sending a query. */
export async function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port, timeout: 2000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('timeout', () => {
      done(false);
    });
  });
}

async function waitUntilListening(proc: ManagedProcess, port: number): Promise<void> {
  const deadline = performance.now() + 15_000;
  for (let attempt = 0; attempt < 150 && performance.now() < deadline; attempt++) {
    if (proc.exitStatus) throw new Error(`unbound exited during startup\n${proc.tail()}`);
    if (await acceptsTcp(port)) return;
    await sleep(100);
  }
  throw new Error(`unbound did not accept a TCP connection on 127.0.0.1:${port} within 15 s\n${proc.tail()}`);
}

/** A free port other than `taken`. */
async function anotherFreePort(taken: number): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await freePort();
    if (port !== taken) return port;
  }
  throw new Error(`no free port other than ${taken}`);
}

/**
 * Starts unbound in the foreground on a free loopback port and waits until it completes a TLS handshake with
 * the expected certificate and answers unbound-control. Retries with a new port if the port was taken.
 *
 * With options: a clear DNS interface as well (or instead: `tls: false` leaves the DoT port closed), given
 * ports (to replace an earlier unbound on the same ones) and given certificates. Readiness is then also a
 * bare TCP connection to the clear port.
 */
export async function startUnbound(options: UnboundOptions = {}): Promise<UnboundServer> {
  const tls = options.tls ?? true;
  if (!tls && options.clearPort === undefined)
    throw new Error('startUnbound: tls: false needs a clearPort (unbound would listen on nothing)');
  const custom = options.clearPort !== undefined || !tls || options.certs !== undefined;
  const temp = makeTempDir('unbound');
  try {
    const certs = options.certs ?? (await makeCerts(temp.dir));
    const confFile = join(temp.dir, 'unbound.conf');
    const { port, clearPort, proc } = await withFreePort(async (picked) => {
      const port = options.port ?? picked;
      const clearPort = options.clearPort === 'free' ? await anotherFreePort(port) : options.clearPort;
      const listeners = custom ? { tlsPort: tls ? port : undefined, clearPort } : undefined;
      writeFileSync(confFile, unboundConf(temp.dir, port, certs, listeners));
      const proc = await ManagedProcess.start('unbound', peerPath('unbound'), ['-d', '-c', confFile]);
      try {
        if (tls) await waitUntilServing(proc, port, certs.leafPin);
        if (clearPort !== undefined) await waitUntilListening(proc, clearPort);
        await readQueryCount(confFile);
      } catch (err) {
        await proc.stop();
        throw err;
      }
      return { port, clearPort, proc };
    });
    return {
      port,
      clearPort,
      tls,
      pin: certs.leafPin,
      caFile: certs.caFile,
      certDir: certs.dir,
      confFile,
      process: proc,
      queriesReceived: () => readQueryCount(confFile),
      tlsQueriesReceived: () => readStatistic(confFile, 'num.query.tls'),
      stop: async () => {
        try {
          return await proc.stop();
        } finally {
          temp.remove();
        }
      },
    };
  } catch (err) {
    temp.remove();
    throw err;
  }
}
