/**
 * `dotstub pin`: shows the certificate chain a DoT server presents (or a PEM file holds) with the SPKI pin of
 * every certificate, in the `pin-sha256="..."` form `-K` and the config take, and suggests a pinset. A one-off
 * tool, so unlike the daemon it may resolve a host name.
 */
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { parseArgs } from 'node:util';
import ora from 'ora';
import { formatHostPort, parseUpstreamAddress } from '../config/addresses.js';
import { selfCertDir } from '../config/tls-cert-dir.js';
import { existsSync } from 'node:fs';
import { selfSignedPaths } from '../server/self-signed-paths.js';
import { ConfigError, ConnectError, ConnectTimeoutError, describeCause } from '../errors.js';
import { presentedChain } from '../upstream/spki-pin.js';
import { nameMismatch } from '../upstream/cert-name.js';
import { connectCauseCode, refusedAlpn } from '../upstream/tls-connect.js';
import { isIpLiteral } from '../util/ip-literal.js';
import { buildReport, formatJson, formatText, type PinReport, type TlsFacts } from './pin-output.js';

export const PIN_USAGE = `usage: dotstub pin [--json] [-t|--timeout MS] HOST_OR_IP[#PORT][~AUTHNAME]
       dotstub pin [--json] --cert FILE
       dotstub pin [--json] --self [--config FILE]

Prints every certificate of the chain a DNS-over-TLS server presents (port 853 unless #PORT), or of a PEM
file, with its pin-sha256="..." for -K or the config, and suggests a pinset with a backup pin.
~AUTHNAME is sent as SNI and checked against the certificate (for a host name, the name itself is).
  --cert FILE     read the certificates from a PEM file instead of connecting
  --self          the certificate dotstub generated for its own DoT listener (--listen-tls);
                  --config FILE: the daemon's config, when it sets tls.certDir
  --json          print the report as JSON (fields in README.md, "dotstub pin")
  -t, --timeout   connect and handshake timeout in milliseconds (default 5000)`;

const PIN_OPTIONS = {
  cert: { type: 'string' },
  self: { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string', short: 't' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DEFAULT_TIMEOUT_MS = 5000;
const HOST_NAME =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/;
/** Network errors after which the next address of a host name is worth trying. */
const NEXT_ADDRESS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

interface PinTarget {
  /** The host name or IP literal as given. */
  readonly host: string;
  readonly port: number;
  readonly isName: boolean;
  readonly authName: string | undefined;
}

function badTarget(what: string, input: string, expected: string): ConfigError {
  return new ConfigError('pin', `bad ${what} in ${JSON.stringify(input)} (expected ${expected})`);
}

/** `NAME[#PORT][~AUTHNAME]` for a host name; IP literals go to parseUpstreamAddress (same forms as --upstream). */
export function parsePinTarget(input: string): PinTarget {
  const [hostPart = '', authName, ...more] = input.trim().split('~');
  const match = /^([^#:[\]]+)(?:[#:](\d{1,5}))?$/.exec(hostPart);
  const host = match?.[1];
  if (host === undefined || /^[\d.]+$/.test(host)) {
    const ip = parseUpstreamAddress(input, 'pin');
    return { host: ip.address, port: ip.port, isName: false, authName: ip.authName };
  }
  const port = Number(match?.[2] ?? 853);
  if (!HOST_NAME.test(host)) throw badTarget('host name', input, 'a host name or an IP address');
  if (port > 65535) throw badTarget('port', input, '0-65535');
  if (more.length > 0 || (authName !== undefined && !HOST_NAME.test(authName)))
    throw badTarget('authentication name', input, 'a host name such as dns.quad9.net');
  return { host: host.replace(/\.$/, ''), port, isName: true, authName: authName?.replace(/\.$/, '') };
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 1))
    throw new ConfigError('--timeout', `bad value ${JSON.stringify(text)} (expected milliseconds)`);
  return ms;
}

interface Handshake {
  readonly chain: X509Certificate[];
  readonly facts: TlsFacts;
}

interface Attempt {
  readonly address: string;
  readonly port: number;
  readonly servername: string | undefined;
  readonly authName: string | undefined;
  readonly timeoutMs: number;
  readonly target: string;
}

function refused(err: NodeJS.ErrnoException): Error {
  const message = 'connection refused: nothing listens on that port (DoT is port 853)';
  return Object.assign(new Error(message, { cause: err }), { code: err.code });
}

function handshakeOnce(a: Attempt, alpn: readonly string[] | undefined): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: a.address,
      port: a.port,
      ...(a.servername === undefined ? {} : { servername: a.servername }),
      ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] }),
      // We only look: Node's verdict on the chain is reported, not enforced; the name is checked below
      // as the daemon checks it (upstream/cert-name.ts).
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    let phase: 'tcp' | 'tls' = 'tcp';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectTimeoutError(a.target, phase, a.timeoutMs));
    }, a.timeoutMs);
    socket.once('connect', () => (phase = 'tls'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ConnectError(a.target, err.code === 'ECONNREFUSED' ? refused(err) : err));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate(true);
      const caError: unknown = socket.authorizationError;
      const nameError =
        a.authName === undefined || (peer as Partial<typeof peer>).raw === undefined
          ? undefined
          : nameMismatch(a.authName, peer.raw);
      const facts: TlsFacts = {
        address: a.address,
        port: a.port,
        servername: a.servername ?? null,
        alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
        protocol: socket.getProtocol(),
        caTrusted: socket.authorized,
        caError: socket.authorized ? null : describeCause(caError),
        authName: a.authName ?? null,
        nameMatches: a.authName === undefined ? null : nameError === undefined,
        nameError: nameError ?? null,
      };
      const chain = presentedChain(peer);
      socket.destroy();
      if (chain.length === 0)
        reject(new ConnectError(a.target, new Error('the server presented no certificate')));
      else resolve({ chain, facts });
    });
  });
}

/** ALPN "dot" first; a server that rejects unknown ALPN values with a fatal alert gets one retry without. */
async function handshake(a: Attempt): Promise<Handshake> {
  try {
    return await handshakeOnce(a, ['dot']);
  } catch (err) {
    if (!refusedAlpn(err)) throw err;
    return handshakeOnce(a, undefined);
  }
}

async function resolveAddresses(target: PinTarget, display: string): Promise<string[]> {
  if (!target.isName) return [target.host];
  try {
    return (await lookup(target.host, { all: true })).map((r) => r.address);
  } catch (err) {
    throw new ConnectError(display, err);
  }
}

async function fromServer(target: PinTarget, timeoutMs: number): Promise<PinReport> {
  const display = formatHostPort({ host: target.host, port: target.port });
  const authName = target.authName ?? (target.isName ? target.host : undefined);
  const addresses = await resolveAddresses(target, display);
  let lastError: unknown = new ConnectError(display, new Error(`${target.host} has no address`));
  for (const address of addresses) {
    const attempt: Attempt = {
      address,
      port: target.port,
      // RFC 6066 sec. 3: SNI is a host name, never an IP literal.
      servername: authName !== undefined && !isIpLiteral(authName) ? authName : undefined,
      authName,
      timeoutMs,
      target: target.isName ? `${display} (${address})` : display,
    };
    try {
      const { chain, facts } = await handshake(attempt);
      return buildReport(display, chain, facts);
    } catch (err) {
      lastError = err;
      if (!NEXT_ADDRESS.has(String(connectCauseCode(err)))) break;
    }
  }
  throw lastError;
}

async function fromFile(path: string): Promise<PinReport> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--cert', `cannot read ${path}: ${describeCause(err)}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    throw new ConfigError('--cert', `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const chain = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new ConfigError('--cert', `certificate ${i} in ${path} does not parse: ${describeCause(err)}`);
    }
  });
  return buildReport(path, chain, null);
}

/** Connects while a spinner turns on stderr, when stderr is a terminal; stdout carries only the report. */
async function withSpinner<T>(text: string, work: () => Promise<T>): Promise<T> {
  // A pty that reports 0 columns (script(1), some CI runners) sends ora 9 into an endless clear loop.
  const spinner =
    process.stderr.isTTY && process.stderr.columns > 0
      ? ora({ text, stream: process.stderr, discardStdin: false }).start()
      : undefined;
  try {
    return await work();
  } finally {
    spinner?.stop();
  }
}

export async function pinCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: PIN_OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    process.stdout.write(`${PIN_USAGE}\n`);
    return 0;
  }
  const timeoutMs = parseTimeout(values.timeout);
  const [input, ...extra] = positionals;
  if (extra.length > 0)
    throw new ConfigError('pin', `one server at a time, got ${JSON.stringify(positionals)}`);
  let report: PinReport;
  // --self is --cert on the generated certificate of the DoT listener (tls.certs files: use --cert).
  const certFile = values.self === true ? selfSignedPaths(selfCertDir(values.config)).cert : values.cert;
  if (values.self === true && values.cert !== undefined)
    throw new ConfigError('pin', 'give either --self or --cert FILE, not both');
  if (values.self === true && certFile !== undefined && !existsSync(certFile))
    throw new ConfigError(
      '--self',
      `no generated certificate at ${certFile} yet: start \`dotstub run --listen-tls ADDR\` once (with tls.certs configured, use --cert FILE)`,
    );
  if (certFile !== undefined) {
    if (input !== undefined) throw new ConfigError('pin', `give either HOST_OR_IP or --cert FILE, not both`);
    report = await fromFile(certFile);
  } else {
    if (input === undefined)
      throw new ConfigError(
        'pin',
        'missing HOST_OR_IP[#PORT][~AUTHNAME] or --cert FILE (see dotstub pin --help)',
      );
    const target = parsePinTarget(input);
    report = await withSpinner(
      `connecting to ${formatHostPort({ host: target.host, port: target.port })}`,
      () => fromServer(target, timeoutMs),
    );
  }
  process.stdout.write(values.json === true ? formatJson(report) : formatText(report));
  return 0;
}
