// `dotstub query` as a user runs it (the built CLI, a child process) against the in-process fake DoT upstream
// and the fake clear-text server: output formats, JSON fields, exit codes and the cause named on failure.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startFakePlain, type FakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { withoutNudgeCopies } from '../helpers/fake-upstream-types.js';
import { caFile, getTestPki } from '../helpers/test-certs.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const pki = getTestPki();
const pinArg = (pin: string): string[] => ['-K', `pin-sha256="${pin}"`];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `dotstub query ARGS` without blocking this process, where the fake servers live. */
function query(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'query', ...args],
      { timeout: 20_000, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

const explain = (r: Run): string => `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

interface Via {
  upstream: string;
  transport: string;
  encrypted: boolean;
  authenticated: boolean;
  authMethod: string;
  authFailure: string | null;
  pinDepth: number | null;
  tlsVersion: string | null;
  tlsResumed: boolean | null;
  rttMs: number;
}
interface JsonReply {
  question: { name: string; type: string; class: string };
  answered: boolean;
  rcode?: string;
  answer?: { name: string; type: string; class: string; ttl: number; data: string }[];
  via?: Via;
  warnings?: string[];
  error?: { cause: string; exitCode: number; seenPins: string[] | null; attempts: { message: string }[] };
}
interface JsonDoc {
  status: string;
  exitCode: number;
  replies: JsonReply[];
}

/** An HTTPS answer with one record (priority 1, target ".", no parameters), without OPT. */
function httpsAnswer(raw: Buffer): Buffer {
  let end = 12;
  while (raw[end] !== 0) end += (raw[end] ?? 0) + 1;
  const question = raw.subarray(12, end + 5);
  const header = Buffer.from(raw.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  const rr = Buffer.from('c00c00410001000001 2c0003000100'.replace(/ /g, ''), 'hex');
  return Buffer.concat([header, question, rr]);
}

describe('dotstub query against a DoT upstream', () => {
  let dot: FakeUpstream;
  let at: string;
  before(async () => {
    dot = await startFakeUpstream({
      onQuery: (q) => (q.type === 65 ? { raw: httpsAnswer(q.raw) } : undefined),
    });
    at = `@127.0.0.1#${dot.port}~dot.test`;
  });
  after(async () => {
    await dot.close();
  });

  it('prints a dig-like answer with who answered, over what, and how it was authenticated', async () => {
    const r = await query(['-s', '-l', 'L', ...pinArg(pki.ca.pin), at, 'host.example', 'A']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+$/m);
    assert.match(r.stdout, /^;; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1$/m);
    assert.match(r.stdout, /^;host\.example\.\t\tIN\tA$/m);
    assert.match(r.stdout, /^host\.example\.\t300\tIN\tA\t192\.0\.2\.1$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `^;; SERVER: 127\\.0\\.0\\.1#${dot.port}~dot\\.test over TLS \\(TLSv1\\.3, new session\\)$`,
        'm',
      ),
    );
    assert.match(
      r.stdout,
      /^;; AUTHENTICATION: pin matched the certificate at depth 1: .*dotstub test CA.*; name dot\.test verified$/m,
    );
    assert.match(r.stdout, /^;; Query time: \d+ ms$/m);
    assert.doesNotMatch(r.stdout, /WARNING/);
    assert.equal(r.stderr, '', 'no spinner and nothing else on stderr when it is not a terminal');
  });

  it('-j gives the same facts as JSON, -J indents it, -q prints the answer records only', async () => {
    const r = await query(['-l', 'L', ...pinArg(pki.leaf.pin), at, 'host.example', 'A', '-j']);
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one line');
    const doc = JSON.parse(r.stdout) as JsonDoc;
    assert.equal(doc.status, 'answered');
    assert.equal(doc.exitCode, 0);
    const reply = doc.replies[0]!;
    assert.deepEqual(reply.question, { name: 'host.example.', type: 'A', class: 'IN' });
    assert.equal(reply.rcode, 'NOERROR');
    assert.deepEqual(reply.answer, [
      { name: 'host.example.', type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' },
    ]);
    const via = reply.via!;
    assert.equal(via.upstream, `127.0.0.1#${dot.port}~dot.test`);
    assert.equal(via.transport, 'tls');
    assert.equal(via.encrypted, true);
    assert.equal(via.authenticated, true);
    assert.equal(via.authMethod, 'pin+name');
    assert.equal(via.pinDepth, 0);
    assert.equal(via.tlsVersion, 'TLSv1.3');
    assert.equal(via.tlsResumed, false);
    assert.equal(typeof via.rttMs, 'number');
    assert.deepEqual(reply.warnings, []);

    const pretty = await query(['-J', ...pinArg(pki.leaf.pin), at, 'host.example', 'A']);
    assert.equal(pretty.code, 0, explain(pretty));
    assert.match(pretty.stdout, /^ {2}"status": "answered",$/m);

    const quiet = await query(['-q', ...pinArg(pki.leaf.pin), at, 'host.example', 'A']);
    assert.equal(quiet.code, 0, explain(quiet));
    assert.equal(quiet.stdout, 'host.example.\t300\tIN\tA\t192.0.2.1\n');
  });

  it('asks HTTPS and TYPE65535 with their real type codes, and class CH', async () => {
    const https = await query([...pinArg(pki.leaf.pin), at, 'svc.example', 'HTTPS']);
    assert.equal(https.code, 0, explain(https));
    assert.match(https.stdout, /^;svc\.example\.\t\tIN\tHTTPS$/m);
    assert.match(https.stdout, /^svc\.example\.\t300\tIN\tHTTPS\t\\# 3 000100$/m);
    const generic = await query([...pinArg(pki.leaf.pin), at, 'odd.example', 'TYPE65535']);
    assert.equal(generic.code, 0, explain(generic));
    assert.match(generic.stdout, /^;odd\.example\.\t\tIN\tTYPE65535$/m);
    const chaos = await query([...pinArg(pki.leaf.pin), at, 'version.bind', 'TXT', 'CH', '-q']);
    assert.equal(chaos.code, 0, explain(chaos));
    assert.equal(chaos.stdout, 'version.bind.\t300\tCH\tTXT\t"fake"\n');
    const seen = withoutNudgeCopies(dot.queries).map((q) => [q.name, q.type, q.parsed.qclass]);
    assert.deepEqual(seen.slice(-3), [
      ['svc.example', 65, 1],
      ['odd.example', 65535, 1],
      ['version.bind', 16, 3],
    ]);
  });

  it('-A asks A and AAAA; -H asks the PTR of the reverse name', async () => {
    const a = await query(['-A', '-q', ...pinArg(pki.leaf.pin), at, 'both.example']);
    assert.equal(a.code, 0, explain(a));
    assert.deepEqual(a.stdout.trim().split('\n').sort(), [
      'both.example.\t300\tIN\tA\t192.0.2.1',
      'both.example.\t300\tIN\tAAAA\t2001:db8::1',
    ]);
    const before = dot.queries.length;
    const h = await query(['-H', '-j', ...pinArg(pki.leaf.pin), at, '192.0.2.1']);
    assert.equal(h.code, 0, explain(h));
    assert.deepEqual((JSON.parse(h.stdout) as JsonDoc).replies[0]?.question, {
      name: '1.2.0.192.in-addr.arpa.',
      type: 'PTR',
      class: 'IN',
    });
    const q = dot.queries[before]!;
    assert.deepEqual([q.name, q.type], ['1.2.0.192.in-addr.arpa', 12]);
  });

  it('a wrong pin: exit 77, the cause named with the pins the server presented, and no query sent', async () => {
    const before = dot.queries.length;
    const wrong = Buffer.alloc(32, 7).toString('base64');
    const r = await query([...pinArg(wrong), at, 'host.example', 'A']);
    assert.equal(r.code, 77, explain(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /pin mismatch/);
    assert.ok(r.stderr.includes(`pin-sha256="${pki.leaf.pin}"`), explain(r));
    assert.ok(r.stderr.includes(`pin-sha256="${pki.ca.pin}"`), explain(r));
    const j = await query(['-j', ...pinArg(wrong), at, 'host.example', 'A']);
    assert.equal(j.code, 77, explain(j));
    const doc = JSON.parse(j.stdout) as JsonDoc;
    assert.equal(doc.status, 'failed');
    assert.equal(doc.replies[0]?.error?.cause, 'pin-mismatch');
    assert.deepEqual(doc.replies[0].error.seenPins, [pki.leaf.pin, pki.ca.pin]);
    assert.equal(dot.queries.length, before, 'nothing reached the server');
  });

  it('-n accepts the wrong pin as encrypted-only, and says so', async () => {
    const wrong = Buffer.alloc(32, 9).toString('base64');
    const r = await query(['-n', '-j', ...pinArg(wrong), at, 'host.example', 'A']);
    assert.equal(r.code, 0, explain(r));
    const via = (JSON.parse(r.stdout) as JsonDoc).replies[0]?.via;
    assert.equal(via?.authenticated, false);
    assert.equal(via.authFailure, 'pin-mismatch');
    assert.match(r.stderr, /WITHOUT authentication \(pin-mismatch\)/);
  });

  it('a name mismatch and an untrusted CA are named too (exit 77)', async () => {
    const name = await query([
      '--ca-file',
      caFile(),
      `@127.0.0.1#${dot.port}~other.test`,
      'host.example',
      'A',
    ]);
    assert.equal(name.code, 77, explain(name));
    assert.match(name.stderr, /name mismatch/);
    const pinned = await query([
      ...pinArg(pki.leaf.pin),
      `@127.0.0.1#${dot.port}~other.test`,
      'host.example',
      'A',
    ]);
    assert.equal(pinned.code, 77, `the right pin does not excuse the wrong name\n${explain(pinned)}`);
    assert.match(pinned.stderr, /name mismatch/);
    const untrusted = await query([`@127.0.0.1#${dot.port}~dot.test`, 'host.example', 'A']);
    assert.equal(untrusted.code, 77, explain(untrusted));
    assert.match(untrusted.stderr, /not trusted/);
  });

  it('without @UPSTREAM it asks the upstreams of --config, as the daemon would; a bad file exits 78', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-query-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: [{ address: '127.0.0.1', port: dot.port, authName: 'dot.test' }],
        caFile: caFile(),
        selection: 'ordered',
      }),
    );
    try {
      const r = await query(['--config', file, '-j', 'cfg.example', 'A']);
      assert.equal(r.code, 0, explain(r));
      const via = (JSON.parse(r.stdout) as JsonDoc).replies[0]!.via!;
      assert.equal(via.upstream, `127.0.0.1#${dot.port}~dot.test`);
      assert.equal(via.authMethod, 'name');
      assert.equal(dot.queries.at(-1)?.name, 'cfg.example');
      const missing = await query(['--config', join(dir, 'absent.json'), 'cfg.example', 'A']);
      assert.equal(missing.code, 78, explain(missing));
      assert.match(missing.stderr, /cannot read config file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('-P, -b and -D shape the query that goes out', async () => {
    const padded = await query([...pinArg(pki.leaf.pin), at, 'pad.example', 'A']);
    assert.equal(padded.code, 0, explain(padded));
    const first = dot.queries.at(-1)!;
    assert.equal(first.raw.length % 128, 0, 'padded to 128 octets by default (RFC 8467)');
    assert.equal(first.parsed.edns?.udpSize, 1232);
    assert.equal(first.parsed.edns.do, false);
    const plain = await query([
      '-P',
      '0',
      '-b',
      '4096',
      '-D',
      ...pinArg(pki.leaf.pin),
      at,
      'pad.example',
      'A',
    ]);
    assert.equal(plain.code, 0, explain(plain));
    const second = dot.queries.at(-1)!;
    assert.equal(
      second.parsed.edns?.options.find((o) => o.code === 12),
      undefined,
      '-P 0: no padding',
    );
    assert.equal(second.parsed.edns?.udpSize, 4096);
    assert.equal(second.parsed.edns.do, true);
    assert.match(plain.stdout, /^; EDNS: version: 0, flags: do; udp: 1232$/m);
  });

  it('an expired certificate and a TLS version mismatch are named (exit 77 and 69)', async () => {
    const expired = await startFakeUpstream({ cert: pki.expired.chain, key: pki.expired.key });
    const old = await startFakeUpstream({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    try {
      const e = await query(['--ca-file', caFile(), `@127.0.0.1#${expired.port}~dot.test`, 'x.example', 'A']);
      assert.equal(e.code, 77, explain(e));
      assert.match(e.stderr, /the certificate has expired/);
      const v = await query([...pinArg(pki.leaf.pin), `@127.0.0.1#${old.port}`, 'x.example', 'A', '-j']);
      assert.equal(v.code, 69, explain(v));
      assert.match(v.stderr, /TLS version mismatch/);
      assert.equal((JSON.parse(v.stdout) as JsonDoc).replies[0]?.error?.cause, 'tls-version');
    } finally {
      await expired.close();
      await old.close();
    }
  });

  it('a silent server: exit 75, timed out', async () => {
    const silent = await startFakeUpstream({ onQuery: () => ({ drop: true }) });
    try {
      const r = await query([
        '-t',
        '1000',
        ...pinArg(pki.leaf.pin),
        `@127.0.0.1#${silent.port}`,
        'x.example',
        'A',
      ]);
      assert.equal(r.code, 75, explain(r));
      assert.match(r.stderr, /timed out/);
    } finally {
      await silent.close();
    }
  });
});

describe('dotstub query failures and clear-text transports', () => {
  let plain: FakePlain;
  let closedPort: number;
  before(async () => {
    plain = await startFakePlain();
    // A port nothing listens on: a fake upstream's, once closed.
    const gone = await startFakeUpstream();
    closedPort = gone.port;
    await gone.close();
  });
  after(async () => {
    await plain.close();
  });

  it('a closed port: exit 69, connection refused', async () => {
    const r = await query([...pinArg(pki.leaf.pin), `@127.0.0.1#${closedPort}`, 'host.example', 'A']);
    assert.equal(r.code, 69, explain(r));
    assert.match(r.stderr, /connection refused/);
    assert.match(r.stderr, /ECONNREFUSED/);
  });

  it('usage errors exit 64 and say what is wrong', async () => {
    const unknown = await query(['-w', 'host.example']);
    assert.equal(unknown.code, 64, explain(unknown));
    assert.match(unknown.stderr, /^dotstub query: unknown option -w$/m);
    const noName = await query(['-j']);
    assert.equal(noName.code, 64, explain(noName));
    assert.match(noName.stderr, /missing NAME/);
    assert.equal(noName.stdout, '');
  });

  it('-l U answers over UDP from the clear port, with a plain warning', async () => {
    const r = await query(['-l', 'U', `@127.0.0.1@${plain.port}`, 'clear.example', 'A']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^clear\.example\.\t300\tIN\tA\t192\.0\.2\.1$/m);
    assert.match(
      r.stdout,
      new RegExp(`^;; SERVER: 127\\.0\\.0\\.1#${plain.port} \\(clear\\) over UDP$`, 'm'),
    );
    assert.match(r.stdout, /^;; WARNING: this answer came in CLEAR TEXT over UDP/m);
    assert.equal(plain.queries.at(-1)?.transport, 'udp');
  });

  it('-l T asks over TCP only; IP:PORT is the clear port, as in getdns_query', async () => {
    const r = await query(['-l', 'T', '-j', `@127.0.0.1:${plain.port}`, 'tcp.example', 'AAAA']);
    assert.equal(r.code, 0, explain(r));
    const reply = (JSON.parse(r.stdout) as JsonDoc).replies[0]!;
    assert.equal(reply.via?.transport, 'tcp');
    assert.equal(reply.via.encrypted, false);
    assert.match(reply.warnings?.[0] ?? '', /CLEAR TEXT over TCP/);
    assert.match(r.stderr, /warning: this answer came in CLEAR TEXT over TCP/);
    assert.equal(plain.queries.at(-1)?.transport, 'tcp');
    assert.equal(plain.queries.at(-1)?.name, 'tcp.example');
  });

  it('-l LU with the TLS port closed falls back to UDP and warns', async () => {
    const r = await query([
      '-l',
      'LU',
      '-j',
      `@127.0.0.1@${plain.port}#${closedPort}~dot.test`,
      'lu.example',
      'A',
    ]);
    assert.equal(r.code, 0, explain(r));
    const reply = (JSON.parse(r.stdout) as JsonDoc).replies[0]!;
    assert.equal(reply.via?.transport, 'udp');
    assert.equal(reply.answer?.[0]?.data, '192.0.2.1');
    assert.match(r.stderr, /CLEAR TEXT over UDP/);
  });

  it('-m refuses clear-text transports, as getdns does', async () => {
    const r = await query([
      '-m',
      '-l',
      'LU',
      ...pinArg(pki.leaf.pin),
      `@127.0.0.1#${closedPort}`,
      'x.example',
    ]);
    assert.equal(r.code, 64, explain(r));
    assert.match(r.stderr, /-m \(authentication required\) needs TLS only/);
  });
});
