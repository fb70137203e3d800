// `dotstub pin`, run as the built CLI: PEM files (compared with the openssl pipeline the README gives) and a
// live TLS server in this process. The CLI is spawned asynchronously for the live cases: spawnSync would
// block this process's event loop, and with it the server the CLI is talking to.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type TlsOptions } from 'node:tls';
import { promisify } from 'node:util';
import { getTestPki } from '../helpers/test-certs.js';

const CLI = 'dist/src/cli/main.js';
const pki = getTestPki();
const execFileAsync = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dotstub-pin-test-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runSync(args: readonly string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, 'pin', ...args], { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function run(args: readonly string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'pin', ...args], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : null,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

function explain(r: CliResult): string {
  return `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The README's pipeline: openssl's idea of the first certificate's pin in `path`. */
function opensslPin(path: string): string {
  const pipeline =
    'openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64';
  return execFileSync('sh', ['-c', pipeline, 'sh', path], { encoding: 'utf8' }).trim();
}

/** The pin-sha256 lines of the certificate blocks, in order. */
function blockPins(text: string): string[] {
  return [...text.matchAll(/^ {4}pin-sha256="([^"]+)"$/gm)].map((m) => m[1] ?? '');
}

function suggested(text: string): string[] {
  return [...text.matchAll(/^ {2}-K 'pin-sha256="([^"]+)"'$/gm)].map((m) => m[1] ?? '');
}

interface JsonReport {
  source: string;
  tls: null | Record<string, unknown>;
  chain: Record<string, unknown>[];
  chainVerifies: boolean;
  suggestedPins: string[];
  warnings: string[];
}

const CHAIN_FIELDS = [
  'depth',
  'position',
  'subject',
  'issuer',
  'notBefore',
  'notAfter',
  'expired',
  'selfSigned',
  'pin',
  'pinDirective',
  'issuedByNext',
].sort();
const TLS_FIELDS = [
  'address',
  'port',
  'servername',
  'alpn',
  'protocol',
  'caTrusted',
  'caError',
  'authName',
  'nameMatches',
  'nameError',
].sort();

describe('dotstub pin --cert FILE', () => {
  const chainFile = file('chain.pem', pki.leaf.chain);
  const caPem = file('ca.pem', pki.ca.cert);

  it('prints each certificate of the test PKI chain with the pin openssl computes (RSA)', () => {
    const r = runSync(['--cert', chainFile]);
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual(blockPins(r.stdout), [pki.leaf.pin, pki.ca.pin], explain(r));
    assert.equal(opensslPin(chainFile), pki.leaf.pin);
    assert.equal(opensslPin(caPem), pki.ca.pin);
    assert.match(
      r.stdout,
      /^\[0\] leaf\n {4}subject: CN=dot\.test, O=dotstub tests\n {4}issuer: {2}CN=dotstub test CA/m,
    );
    assert.match(r.stdout, /^\[1\] root \(self-signed\)$/m);
    assert.match(r.stdout, /^ {4}expires: \d{4}-\d\d-\d\dT.*\(in \d+ days?\)$/m);
    assert.match(r.stdout, /issued and signed by \[1\]: yes/);
    assert.deepEqual(suggested(r.stdout), [pki.leaf.pin, pki.ca.pin]);
    assert.doesNotMatch(r.stdout, /WARNING/);
    assert.equal(r.stderr, '');
  });

  it('gives the openssl pin for an ECDSA P-256 certificate made by openssl', () => {
    const key = join(dir, 'ec.key');
    const cert = join(dir, 'ec.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=ec.test',
      ]),
      { stdio: 'ignore' },
    );
    const r = runSync(['--cert', cert]);
    assert.equal(r.code, 0, explain(r));
    const pin = opensslPin(cert);
    assert.match(pin, /^[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(blockPins(r.stdout), [pin], explain(r));
    assert.match(r.stdout, /^\[0\] leaf \(self-signed\)$/m);
    // No issuer to pin: one pin, and the advice to add the next key's pin.
    assert.deepEqual(suggested(r.stdout), [pin]);
    assert.match(r.stdout, /no verified issuer/);
  });

  it('prints the documented JSON fields with --json', () => {
    const r = runSync(['--json', '--cert', chainFile]);
    assert.equal(r.code, 0, explain(r));
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.deepEqual(Object.keys(report).sort(), [
      'chain',
      'chainVerifies',
      'source',
      'suggestedPins',
      'tls',
      'warnings',
    ]);
    assert.equal(report.source, chainFile);
    assert.equal(report.tls, null);
    assert.equal(report.chainVerifies, true);
    assert.deepEqual(report.warnings, []);
    for (const entry of report.chain) assert.deepEqual(Object.keys(entry).sort(), CHAIN_FIELDS);
    assert.deepEqual(
      report.chain.map((c) => [c.depth, c.position, c.pin, c.issuedByNext, c.selfSigned, c.expired]),
      [
        [0, 'leaf', pki.leaf.pin, true, false, false],
        [1, 'root', pki.ca.pin, null, true, false],
      ],
    );
    assert.equal(report.chain[0]?.pinDirective, `pin-sha256="${pki.leaf.pin}"`);
    assert.deepEqual(report.suggestedPins, [`pin-sha256="${pki.leaf.pin}"`, `pin-sha256="${pki.ca.pin}"`]);
  });

  it('warns that a forged leaf beside the genuine CA does not verify, and suggests no CA backup', () => {
    const r = runSync(['--json', '--cert', file('attacker.pem', pki.attacker.chain)]);
    assert.equal(r.code, 0, explain(r));
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.equal(report.chainVerifies, false);
    assert.equal(report.chain[0]?.issuedByNext, false);
    assert.equal(report.warnings.length, 1);
    assert.match(
      report.warnings[0] ?? '',
      /certificate \[0\] does not verify against certificate \[1\]: its signature/,
    );
    assert.deepEqual(report.suggestedPins, [`pin-sha256="${pki.attacker.pin}"`]);
  });
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

interface TlsServer {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** SNI names received, in order (read in the ClientHello, before the CLI can hang up). */
  servernames: string[];
  close(): Promise<void>;
}

async function startTls(options: TlsOptions): Promise<TlsServer> {
  const state = { connections: 0, servernames: [] as string[] };
  const server = createServer({
    ...options,
    SNICallback: (name, cb) => {
      state.servernames.push(name);
      cb(null, undefined); // keep the default context
    },
  });
  server.on('connection', () => {
    state.connections++;
  });
  server.on('secureConnection', (socket) => {
    socket.on('error', () => undefined); // the CLI hangs up right after the handshake
  });
  server.on('tlsClientError', () => undefined);
  const port = await listen(server);
  return Object.assign(state, {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  });
}

describe('dotstub pin HOST_OR_IP against a live TLS server', () => {
  let genuine: TlsServer;
  let attacker: TlsServer;
  before(async () => {
    genuine = await startTls({ cert: pki.leaf.chain, key: pki.leaf.key });
    attacker = await startTls({ cert: pki.attacker.chain, key: pki.attacker.key });
  });
  after(async () => {
    await genuine.close();
    await attacker.close();
  });

  it('shows the presented chain, both pins and the suggested pinset', async () => {
    const r = await run([`127.0.0.1#${genuine.port}~dot.test`]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, new RegExp(`^connected to 127\\.0\\.0\\.1#${genuine.port} \\(SNI dot\\.test, `));
    assert.match(r.stdout, /^CA check: not trusted by Node's CA store \(.*\)/m);
    assert.match(r.stdout, /^name check: the certificate is valid for dot\.test/m);
    assert.match(r.stdout, /^\[0\] leaf$/m);
    assert.match(r.stdout, /^\[1\] (intermediate|root)\b/m);
    assert.deepEqual(blockPins(r.stdout), [pki.leaf.pin, pki.ca.pin], explain(r));
    assert.match(r.stdout, /^Suggested pinset \(the leaf's key, and its issuer's key as the backup\):$/m);
    assert.deepEqual(suggested(r.stdout), [pki.leaf.pin, pki.ca.pin]);
    assert.match(r.stdout, /RFC 7858 sec\. 4\.2/);
    assert.match(r.stdout, /pinning a public CA's key trusts every certificate that CA issues/);
    assert.equal(genuine.servernames.at(-1), 'dot.test');
  });

  it('sends no SNI to an IP literal without ~AUTHNAME, and reports a name mismatch as information', async () => {
    const { connections, servernames } = genuine;
    const sniCount = servernames.length;
    const bare = await run([`127.0.0.1#${genuine.port}`]);
    assert.equal(bare.code, 0, explain(bare));
    assert.equal(genuine.connections, connections + 1);
    assert.equal(servernames.length, sniCount, 'no SNI was sent');
    assert.match(bare.stdout, /\(no SNI, /);
    assert.doesNotMatch(bare.stdout, /name check/);
    const other = await run([`127.0.0.1#${genuine.port}~other.test`]);
    assert.equal(other.code, 0, explain(other));
    assert.match(other.stdout, /^name check: the certificate is NOT valid for other\.test/m);
  });

  it('resolves a host name and sends it as SNI when no ~AUTHNAME is given', async () => {
    const r = await run([`localhost#${genuine.port}`]);
    assert.equal(r.code, 0, explain(r));
    assert.equal(genuine.servernames.at(-1), 'localhost');
    assert.match(r.stdout, /^connected to 127\.0\.0\.1#\d+ \(SNI localhost, /);
    assert.deepEqual(blockPins(r.stdout), [pki.leaf.pin, pki.ca.pin]);
  });

  it('prints the documented JSON fields, with the handshake facts', async () => {
    const r = await run(['--json', `127.0.0.1:${genuine.port}~dot.test`]);
    assert.equal(r.code, 0, explain(r));
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.equal(report.source, `127.0.0.1:${genuine.port}`);
    const tls = report.tls;
    assert.ok(tls !== null);
    assert.deepEqual(Object.keys(tls).sort(), TLS_FIELDS);
    assert.equal(tls.address, '127.0.0.1');
    assert.equal(tls.servername, 'dot.test');
    assert.equal(tls.caTrusted, false);
    assert.equal(tls.nameMatches, true);
    assert.equal(tls.alpn, null); // the server offers no ALPN
    assert.deepEqual(
      report.chain.map((c) => [c.position, c.pin]),
      [
        ['leaf', pki.leaf.pin],
        ['root', pki.ca.pin],
      ],
    );
    assert.deepEqual(report.suggestedPins, [`pin-sha256="${pki.leaf.pin}"`, `pin-sha256="${pki.ca.pin}"`]);
  });

  it('warns when the leaf is not provably signed by the CA sent with it', async () => {
    const r = await run([`127.0.0.1#${attacker.port}~dot.test`]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /issued and signed by \[1\]: NO, does not verify/);
    assert.match(r.stdout, /^WARNING: certificate \[0\] does not verify against certificate \[1\]/m);
    assert.deepEqual(blockPins(r.stdout), [pki.attacker.pin, pki.ca.pin]);
    assert.deepEqual(suggested(r.stdout), [pki.attacker.pin]);
  });

  it('negotiates ALPN dot, and retries without ALPN when a server rejects it', async () => {
    const dot = await startTls({ cert: pki.leaf.chain, key: pki.leaf.key, ALPNProtocols: ['dot'] });
    const h2 = await startTls({ cert: pki.leaf.chain, key: pki.leaf.key, ALPNProtocols: ['h2'] });
    try {
      const withDot = await run([`127.0.0.1#${dot.port}`]);
      assert.equal(withDot.code, 0, explain(withDot));
      assert.match(withDot.stdout, /, ALPN dot, /);
      const retried = await run([`127.0.0.1#${h2.port}`]);
      assert.equal(retried.code, 0, explain(retried));
      assert.match(retried.stdout, /, no ALPN, /);
      assert.deepEqual(blockPins(retried.stdout), [pki.leaf.pin, pki.ca.pin]);
    } finally {
      await dot.close();
      await h2.close();
    }
  });
});

describe('dotstub pin errors', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['no server', [], 78, /missing HOST_OR_IP/],
    ['an unknown option', ['--bogus'], 64, /Unknown option '--bogus'/],
    ['a bad timeout', ['-t', 'soon', '127.0.0.1'], 78, /--timeout: bad value "soon"/],
    ['a bad IP literal', ['1.2.3#853'], 78, /"1\.2\.3#853" is not an IP address/],
    ['a bad port', ['dns.example#99999'], 78, /bad port in "dns\.example#99999"/],
    ['a bad authentication name', ['127.0.0.1~bad name'], 78, /bad authentication name/],
    ['two servers', ['127.0.0.1', '127.0.0.2'], 78, /one server at a time/],
    ['a server and --cert', ['--cert', 'x.pem', '127.0.0.1'], 78, /either HOST_OR_IP or --cert FILE/],
    [
      'a missing file',
      ['--cert', join(dir, 'missing.pem')],
      78,
      /--cert: cannot read .*missing\.pem.*ENOENT/,
    ],
  ];
  for (const [what, args, code, message] of cases) {
    it(`exits ${code} naming the problem for ${what}`, () => {
      const r = runSync(args);
      assert.equal(r.code, code, explain(r));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  it('exits 78 for a file with no certificate', () => {
    const r = runSync(['--cert', file('empty.pem', 'not a certificate\n')]);
    assert.equal(r.code, 78, explain(r));
    assert.match(r.stderr, /holds no PEM certificate/);
  });

  it('says the connection was refused when nothing listens', async () => {
    const holder = createTcpServer();
    const port = await listen(holder);
    await new Promise((resolve) => holder.close(resolve));
    const r = await run([`127.0.0.1#${port}`]);
    assert.equal(r.code, 69, explain(r));
    assert.match(r.stderr, new RegExp(`connecting to 127\\.0\\.0\\.1:${port}: connection refused`));
    assert.equal(r.stdout, '');
  });

  it('times out a server that never answers the handshake, naming the phase', async () => {
    const held: Socket[] = [];
    const silent = createTcpServer((socket) => held.push(socket));
    const port = await listen(silent);
    try {
      const started = Date.now();
      const r = await run(['-t', '300', `127.0.0.1#${port}`]);
      assert.equal(r.code, 69, explain(r));
      assert.match(r.stderr, /TLS handshake to 127\.0\.0\.1:\d+ timed out after 300 ms/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
