// dotstub's DoT listener against real clients: kdig and getdns_query pinning the generated certificate,
// stubby using dotstub as its pinned upstream (stubby -> dotstub listener -> dotstub upstream -> unbound),
// and openssl s_client seeing the RSA or the ECDSA certificate as its signature algorithms choose.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import {
  CLI_PATH,
  dotstubArgs,
  explain,
  freePort,
  hostA,
  hostName,
  InteropEnv,
  kdig,
  killOnExit,
  makeTempDir,
  ManagedProcess,
  peerPath,
  requirePeer,
  runTool,
  type UnboundServer,
} from './harness.js';

const env = new InteropEnv();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
  assert.deepEqual(await env.close(), []);
});

interface Listening {
  readonly tlsPort: number;
  readonly config: string;
  readonly process: ManagedProcess;
}

/**
 * dotstub with --listen-tls in a private HOME. Its generated certificate goes to tls.certDir in that HOME:
 * as root the data directory would otherwise be the system one, shared by every run.
 */
async function startListening(ub: UnboundServer, tls: Record<string, unknown> = {}): Promise<Listening> {
  const home = makeTempDir('dotstub-dot-home');
  const config = join(home.dir, 'config.json');
  writeFileSync(config, JSON.stringify({ tls: { certDir: join(home.dir, 'tls'), ...tls } }));
  const port = await freePort();
  const tlsPort = await freePort();
  const args = [...dotstubArgs(port, ub), '--listen-tls', `127.0.0.1@${tlsPort}`, '--config', config];
  const proc = await ManagedProcess.start('dotstub', process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, HOME: home.dir, XDG_CONFIG_HOME: join(home.dir, 'config') },
    cwd: home.dir,
  });
  cleanups.push(async () => {
    await proc.stop(10_000);
    home.remove();
  });
  await proc.waitForLine(/msg=ready\b/, 10_000);
  return { tlsPort, config, process: proc };
}

/** `dotstub pin --self --json --config FILE`: the leaf pin of the daemon's generated certificate. */
async function selfPin(config: string): Promise<string> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI_PATH, 'pin', '--self', '--json', '--config', config],
      { timeout: 20_000, encoding: 'utf8' },
      (err, out, stderr) => {
        if (err) reject(new Error(`pin --self failed: ${stderr}`, { cause: err }));
        else resolve(out);
      },
    );
    killOnExit(child);
  });
  const report = JSON.parse(stdout) as { chain: { pin: string }[] };
  return report.chain[0]?.pin ?? '';
}

async function ready(
  t: TestContext,
): Promise<{ ub: UnboundServer; dot: Listening; pin: string } | undefined> {
  const ub = await env.unbound(t);
  if (!ub) return undefined;
  const dot = await startListening(ub);
  return { ub, dot, pin: await selfPin(dot.config) };
}

let shared: Promise<{ ub: UnboundServer; dot: Listening; pin: string } | undefined> | undefined;

void test('kdig +tls +tls-pin with the pin of dotstub pin --self is answered through dotstub, padded', async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  shared ??= ready(t);
  const s = await shared;
  if (!s) return;
  const r = await kdig(s.dot.tlsPort, hostName(3), 'A', {
    transport: 'tcp',
    extra: ['+tls', `+tls-pin=${s.pin}`, '+padding'],
  });
  assert.equal(r.status, 'NOERROR', explain(r));
  assert.deepEqual(
    r.answers.map((a) => a.data),
    [hostA(3)],
    explain(r),
  );
  assert.match(r.tool.stdout, /TLS session \(TLS1\.3\)/, explain(r));
  assert.match(r.tool.stdout, /PADDING: \d+ B/, explain(r));
  const wrong = await kdig(s.dot.tlsPort, hostName(3), 'A', {
    transport: 'tcp',
    timeoutS: 2,
    extra: ['+tls', `+tls-pin=${'A'.repeat(43)}=`],
  });
  assert.equal(wrong.status, undefined, 'a wrong pin gets no answer');
});

void test('getdns_query -s -l L -m -K pin-sha256 is answered through dotstub', async (t) => {
  if (!requirePeer(t, 'getdns_query')) return;
  shared ??= ready(t);
  const s = await shared;
  if (!s) return;
  const args = [
    '-s',
    '-l',
    'L',
    '-m',
    '-K',
    `pin-sha256="${s.pin}"`,
    '-j',
    `@127.0.0.1#${s.dot.tlsPort}`,
    hostName(5),
    'A',
  ];
  const r = await runTool('getdns_query', args, 20_000);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /"status":\s*900/, explain(r)); // GETDNS_RESPSTATUS_GOOD
  assert.ok(r.stdout.includes(hostA(5)), explain(r));
});

void test('stubby with dotstub as its pinned upstream answers end to end', async (t) => {
  if (!requirePeer(t, 'stubby', 'kdig')) return;
  shared ??= ready(t);
  const s = await shared;
  if (!s) return;
  const temp = makeTempDir('stubby-front');
  const port = await freePort();
  const conf = join(temp.dir, 'stubby.yml');
  writeFileSync(
    conf,
    [
      'resolution_type: GETDNS_RESOLUTION_STUB',
      'dns_transport_list:',
      '  - GETDNS_TRANSPORT_TLS',
      'tls_authentication: GETDNS_AUTHENTICATION_REQUIRED',
      'tls_query_padding_blocksize: 128',
      'listen_addresses:',
      `  - 127.0.0.1@${port}`,
      'upstream_recursive_servers:',
      '  - address_data: 127.0.0.1',
      `    tls_port: ${s.dot.tlsPort}`,
      '    tls_pubkey_pinset:',
      '      - digest: "sha256"',
      `        value: ${s.pin}`,
      '',
    ].join('\n'),
  );
  const stubby = await ManagedProcess.start('stubby', peerPath('stubby'), ['-C', conf, '-v', '6'], {
    cwd: temp.dir,
  });
  cleanups.push(async () => {
    await stubby.stop(10_000);
    temp.remove();
  });
  await stubby.waitForLine(/Starting DAEMON/, 10_000);
  const r = await kdig(port, hostName(7), 'A', { transport: 'udp' });
  assert.equal(r.status, 'NOERROR', `${explain(r)}\n${stubby.tail()}\n${s.dot.process.tail()}`);
  assert.deepEqual(
    r.answers.map((a) => a.data),
    [hostA(7)],
  );
  // The query reached dotstub over TLS (the daemon logs each answer at debug level).
  assert.ok(
    s.dot.process
      .tail(400)
      .split('\n')
      .some((l) => l.includes('msg=answered transport=tls') && l.includes(hostName(7))),
    s.dot.process.tail(),
  );
});

void test('openssl s_client gets the ECDSA or the RSA certificate as its signature algorithms ask', async (t) => {
  if (!requirePeer(t, 'openssl')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const dir = makeTempDir('two-certs');
  cleanups.push(async () => {
    dir.remove();
    return Promise.resolve();
  });
  const f = (n: string): string => join(dir.dir, n);
  const req = async (keyArgs: string[], name: string): Promise<void> => {
    const r = await runTool(
      'openssl',
      [
        'req',
        '-x509',
        ...keyArgs,
        '-nodes',
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.pem`),
        '-days',
        '2',
        '-subj',
        `/CN=${name}.dot.test`,
      ],
      30_000,
    );
    assert.equal(r.code, 0, explain(r));
  };
  await req(['-newkey', 'rsa:2048'], 'rsa');
  await req(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa');
  const dot = await startListening(ub, {
    certs: [
      { cert: f('rsa.pem'), key: f('rsa.key') },
      { cert: f('ecdsa.pem'), key: f('ecdsa.key') },
    ],
  });
  const sClient = async (args: string[]): Promise<string> => {
    const r = await runTool(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${dot.tlsPort}`, '-brief', ...args],
      20_000,
      { closeStdin: true },
    );
    return `${r.stdout}\n${r.stderr}`;
  };
  // TLS 1.3: the client's signature_algorithms decide.
  assert.match(
    await sClient(['-tls1_3', '-sigalgs', 'ECDSA+SHA256']),
    /Peer certificate: CN ?= ?ecdsa\.dot\.test/,
  );
  assert.match(
    await sClient(['-tls1_3', '-sigalgs', 'RSA-PSS+SHA256']),
    /Peer certificate: CN ?= ?rsa\.dot\.test/,
  );
  // TLS 1.2: the cipher suite's authentication decides.
  assert.match(
    await sClient(['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']),
    /Peer certificate: CN ?= ?ecdsa\.dot\.test/,
  );
  assert.match(
    await sClient(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']),
    /Peer certificate: CN ?= ?rsa\.dot\.test/,
  );
  // Below the TLS 1.2 minimum: refused.
  assert.doesNotMatch(await sClient(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), /Peer certificate/);
});
