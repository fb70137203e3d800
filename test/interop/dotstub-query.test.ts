// `dotstub query` and getdns_query 1.6 (Debian getdns-utils) side by side against the same real unbound DoT
// upstream with pins: the same answers for the same questions, both fail on a wrong pin (ours names the
// cause, getdns says "Generic error"), and with `-l LU` and the TLS port closed both answer from unbound's
// clear port (ours says it was clear text).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test, type TestContext } from 'node:test';
import {
  AUTH_NAME,
  CLI_PATH,
  describeResult,
  hostA,
  hostAAAA,
  hostName,
  hostTXT,
  InteropEnv,
  killOnExit,
  requirePeer,
  runTool,
  startUnbound,
  wrongPin,
  type ToolResult,
  type UnboundServer,
} from './harness.js';

const env = new InteropEnv();
let clearOnly: Promise<UnboundServer> | undefined;
after(async () => {
  const problems = await env.close();
  if (clearOnly) await (await clearOnly).stop();
  assert.deepEqual(problems, []);
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node dist/src/cli/main.js query ARGS`, asynchronously, killed by PID if the run is interrupted. */
async function dotstubQuery(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_PATH, 'query', ...args],
      { timeout: 30_000, killSignal: 'SIGKILL', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
    killOnExit(child);
  });
}

const explain = (r: Run): string => `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

interface OurReply {
  answered: boolean;
  answer?: { type: string; data: string }[];
  via?: { transport: string; authenticated: boolean; authMethod: string; pinDepth: number | null };
  error?: { cause: string };
}

/** "TYPE data" of every answer record of every reply of `dotstub query -j`. */
function ourAnswers(r: Run): string[] {
  const doc = JSON.parse(r.stdout) as { replies: OurReply[] };
  return doc.replies.flatMap((reply) => (reply.answer ?? []).map((a) => `${a.type} ${a.data}`)).sort();
}

interface GetdnsRecord {
  type?: number;
  rdata?: { ipv4_address?: string; ipv6_address?: string; txt_strings?: string[] };
}

/** The same from `getdns_query -j` (replies_tree; replies_full is not always JSON). */
function getdnsAnswers(tool: ToolResult): string[] {
  const json = tool.stdout.replace(/"replies_full":\[.*?\],"replies_tree":/s, '"replies_tree":');
  const parsed = JSON.parse(json) as { replies_tree?: { answer?: GetdnsRecord[] }[] };
  const names: Record<number, string> = { 1: 'A', 16: 'TXT', 28: 'AAAA' };
  return (parsed.replies_tree ?? [])
    .flatMap((reply) => reply.answer ?? [])
    .map((rr) => {
      const d = rr.rdata ?? {};
      const data = d.ipv4_address ?? d.ipv6_address ?? (d.txt_strings ?? []).map((s) => `"${s}"`).join(' ');
      return `${names[rr.type ?? 0] ?? String(rr.type)} ${data}`;
    })
    .sort();
}

const pinArgs = (pin: string): string[] => ['-K', `pin-sha256="${pin}"`];

async function getdns(args: readonly string[]): Promise<ToolResult> {
  return runTool('getdns_query', ['-s', ...args], 30_000);
}

async function unbound(t: TestContext): Promise<UnboundServer | undefined> {
  if (!requirePeer(t, 'getdns_query')) return undefined;
  return env.unbound(t);
}

void test('dotstub query NAME -l L -K PIN @127.0.0.1#PORT~dot.test answers, authenticated by the pin and the name', async (t) => {
  const ub = await unbound(t);
  if (!ub) return;
  const at = `@127.0.0.1#${ub.port}~${AUTH_NAME}`;
  const r = await dotstubQuery([hostName(1), '-l', 'L', ...pinArgs(ub.pin), at]);
  assert.equal(r.code, 0, explain(r));
  assert.match(
    r.stdout,
    new RegExp(
      `^${hostName(1).replaceAll('.', '\\.')}\\.\\t\\d+\\tIN\\tA\\t${hostA(1).replaceAll('.', '\\.')}$`,
      'm',
    ),
  );
  assert.match(
    r.stdout,
    new RegExp(`^${hostName(1).replaceAll('.', '\\.')}\\.\\t\\d+\\tIN\\tAAAA\\t${hostAAAA(1)}$`, 'm'),
  );
  assert.match(
    r.stdout,
    new RegExp(`^;; SERVER: 127\\.0\\.0\\.1#${ub.port}~dot\\.test over TLS \\(TLSv1\\.3`, 'm'),
  );
  assert.match(
    r.stdout,
    /^;; AUTHENTICATION: pin matched the certificate at depth 0 .*; name dot\.test verified$/m,
  );
  assert.doesNotMatch(r.stdout, /WARNING/);
  assert.equal(r.stderr, '', explain(r));
});

void test('the same questions through getdns_query -l L -m -K give the same answers', async (t) => {
  const ub = await unbound(t);
  if (!ub) return;
  const at = `@127.0.0.1#${ub.port}~${AUTH_NAME}`;
  const version = await runTool('getdns_query', ['-v'], 10_000);
  t.diagnostic(`getdns_query -v: ${version.stdout.trim()}`);
  const questions: [string, string, string[]][] = [
    [hostName(7), 'A', [`A ${hostA(7)}`]],
    [hostName(7), 'AAAA', [`AAAA ${hostAAAA(7)}`]],
    [hostName(7), 'TXT', [`TXT "${hostTXT(7)}"`]],
    [hostName(1500), 'AAAA', []],
  ];
  for (const [name, type, expected] of questions) {
    const ours = await dotstubQuery(['-l', 'L', '-m', ...pinArgs(ub.pin), at, name, type, '-j']);
    assert.equal(ours.code, 0, explain(ours));
    const theirs = await getdns(['-l', 'L', '-m', ...pinArgs(ub.pin), at, name, type, '-j']);
    assert.equal(theirs.code, 0, describeResult(theirs));
    assert.deepEqual(ourAnswers(ours), expected, explain(ours));
    assert.deepEqual(getdnsAnswers(theirs), expected, describeResult(theirs));
  }
  // An address lookup (-A): A and AAAA, in both.
  const ours = await dotstubQuery(['-A', '-l', 'L', '-m', ...pinArgs(ub.pin), at, hostName(3), '-j']);
  const theirs = await getdns(['-A', '-l', 'L', '-m', ...pinArgs(ub.pin), at, hostName(3), '-j']);
  assert.equal(ours.code, 0, explain(ours));
  assert.deepEqual(ourAnswers(ours), getdnsAnswers(theirs), `${explain(ours)}\n${describeResult(theirs)}`);
  assert.deepEqual(ourAnswers(ours), [`A ${hostA(3)}`, `AAAA ${hostAAAA(3)}`]);
});

void test('a wrong pin: both fail; dotstub query names the pin mismatch and the pins unbound presented', async (t) => {
  const ub = await unbound(t);
  if (!ub) return;
  const at = `@127.0.0.1#${ub.port}~${AUTH_NAME}`;
  const pin = wrongPin();
  const theirs = await getdns(['-l', 'L', '-m', ...pinArgs(pin), at, hostName(2), 'A', '-j']);
  assert.notEqual(theirs.code, 0, describeResult(theirs));
  t.diagnostic(`getdns_query says: ${(theirs.stdout + theirs.stderr).trim()}`);
  const before = await ub.queriesReceived();
  const ours = await dotstubQuery(['-l', 'L', ...pinArgs(pin), at, hostName(2), 'A']);
  assert.equal(ours.code, 77, explain(ours));
  assert.equal(ours.stdout, '');
  assert.match(ours.stderr, /pin mismatch/);
  assert.ok(ours.stderr.includes(`pin-sha256="${ub.pin}"`), explain(ours));
  const json = await dotstubQuery(['-j', '-l', 'L', ...pinArgs(pin), at, hostName(2), 'A']);
  assert.equal(json.code, 77, explain(json));
  const reply = (JSON.parse(json.stdout) as { replies: OurReply[] }).replies[0];
  assert.equal(reply?.error?.cause, 'pin-mismatch');
  assert.equal(await ub.queriesReceived(), before, 'unbound received a query despite the wrong pin');
});

void test('-l LU with the TLS port closed: both answer from the clear port; dotstub query warns it was clear text', async (t) => {
  if (!requirePeer(t, 'getdns_query', 'unbound', 'unbound-control', 'openssl')) return;
  clearOnly ??= startUnbound({ tls: false, clearPort: 'free' });
  const ub = await clearOnly;
  const at = `@127.0.0.1@${String(ub.clearPort)}#${ub.port}~${AUTH_NAME}`;
  const ours = await dotstubQuery(['-l', 'LU', ...pinArgs(ub.pin), at, hostName(4), 'A', '-j']);
  assert.equal(ours.code, 0, explain(ours));
  const reply = (JSON.parse(ours.stdout) as { replies: OurReply[] }).replies[0];
  assert.equal(reply?.via?.transport, 'udp', explain(ours));
  assert.deepEqual(ourAnswers(ours), [`A ${hostA(4)}`]);
  assert.match(ours.stderr, /warning: this answer came in CLEAR TEXT over UDP/, explain(ours));
  const text = await dotstubQuery(['-l', 'LU', ...pinArgs(ub.pin), at, hostName(4), 'A']);
  assert.match(text.stdout, /^;; WARNING: this answer came in CLEAR TEXT over UDP/m, explain(text));
  const theirs = await getdns(['-l', 'LU', ...pinArgs(ub.pin), at, hostName(4), 'A', '-j']);
  assert.equal(theirs.code, 0, describeResult(theirs));
  assert.deepEqual(getdnsAnswers(theirs), [`A ${hostA(4)}`], describeResult(theirs));
});
