// `dotstub pin` against real unbound's DoT port: the leaf pin it prints is the pin the harness computed from
// the certificate it gave unbound (made by openssl), and the backup it suggests is the interop CA's key.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { AUTH_NAME, CLI_PATH, InteropEnv, killOnExit, spkiPin } from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

interface PinRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/src/cli/main.js pin ARGS` asynchronously (unbound is another process, but stay uniform). */
async function dotstubPin(args: readonly string[]): Promise<PinRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_PATH, 'pin', ...args],
      { timeout: 20_000, killSignal: 'SIGKILL', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    killOnExit(child);
  });
}

function explain(r: PinRun): string {
  return `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

void test('dotstub pin prints the leaf pin of the certificate unbound presents, and its CA as the backup', async (t) => {
  const ub = await env.unbound(t);
  if (!ub) return;
  const caPin = spkiPin(readFileSync(ub.caFile, 'utf8'));
  const r = await dotstubPin([`127.0.0.1#${ub.port}~${AUTH_NAME}`]);
  assert.equal(r.code, 0, explain(r));
  const pins = [...r.stdout.matchAll(/^ {4}pin-sha256="([^"]+)"$/gm)].map((m) => m[1]);
  assert.deepEqual(pins, [ub.pin, caPin], explain(r));
  assert.match(r.stdout, /^\[0\] leaf$/m, explain(r));
  assert.match(r.stdout, /^\[1\] root \(self-signed\)$/m, explain(r));
  assert.match(r.stdout, /issued and signed by \[1\]: yes/, explain(r));
  assert.match(r.stdout, new RegExp(`^name check: the certificate is valid for ${AUTH_NAME}`, 'm'));
  assert.match(r.stdout, /^CA check: not trusted/m, 'the interop CA is in no trust store');
  assert.doesNotMatch(r.stdout, /WARNING/);
  const suggested = [...r.stdout.matchAll(/^ {2}-K 'pin-sha256="([^"]+)"'$/gm)].map((m) => m[1]);
  assert.deepEqual(suggested, [ub.pin, caPin], explain(r));
});

void test('dotstub pin --json agrees with the harness, without SNI for a bare IP', async (t) => {
  const ub = await env.unbound(t);
  if (!ub) return;
  const r = await dotstubPin(['--json', `127.0.0.1#${ub.port}`]);
  assert.equal(r.code, 0, explain(r));
  const report = JSON.parse(r.stdout) as {
    tls: { servername: string | null; protocol: string | null };
    chain: { position: string; pin: string }[];
    chainVerifies: boolean;
    suggestedPins: string[];
  };
  assert.equal(report.tls.servername, null);
  assert.match(report.tls.protocol ?? '', /^TLSv1\.[23]$/);
  assert.equal(report.chainVerifies, true);
  assert.deepEqual(
    report.chain.map((c) => c.position),
    ['leaf', 'root'],
  );
  assert.equal(report.chain[0]?.pin, ub.pin);
  assert.equal(report.suggestedPins[0], `pin-sha256="${ub.pin}"`);
});
