// The daemon's young-generation setting (src/server/heap-tuning.ts) holds whether or not it reads a
// configuration file: the bundle the bin runs, started both ways, with V8's GC trace on its stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { caFile } from '../helpers/test-certs.js';
import { BUNDLE_PATH } from '../helpers/run-cli.js';

/** The largest new space V8 committed while the daemon started and stopped (from --trace-gc-verbose), in KB. */
async function youngCommittedKb(runArgs: readonly string[]): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--trace-gc', '--trace-gc-verbose', BUNDLE_PATH, 'run', ...runArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  let out = '';
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 15_000;
  while (!log.includes('msg=ready') && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 20));
  assert.match(log, /msg=ready/, `the daemon did not start:\n${log}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, log);
  const sizes = [...out.matchAll(/New space,.*committed:\s*(\d+) KB/g)].map((m) => Number(m[1]));
  assert.ok(sizes.length > 0, 'V8 traced at least one collection during start-up');
  return Math.max(...sizes);
}

describe('the young generation with and without a configuration file', () => {
  let upstream: FakeUpstream;
  const dir = mkdtempSync(join(tmpdir(), 'dotstub-heap-'));
  before(async () => {
    upstream = await startFakeUpstream();
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the same size either way: the tuning comes before the file is read', async () => {
    const target = `127.0.0.1#${upstream.port}~dot.test`;
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ listen: ['127.0.0.1@0'], upstreams: [target], caFile: caFile(), logLevel: 'info' }),
    );
    const control = (n: string): string[] => ['--control', join(dir, `${n}.sock`)];
    const withFile = await youngCommittedKb(['--config', file, ...control('a')]);
    const withFlags = await youngCommittedKb([
      '--listen',
      '127.0.0.1@0',
      '--upstream',
      target,
      '--ca-file',
      caFile(),
      ...control('b'),
    ]);
    const sizes = `new space ${withFile} KB with --config, ${withFlags} KB without`;
    // Node 20's V8 grows the young generation only by the growth factor the tuning sets to 1, so the size
    // is exactly the initial one both ways (before the tuning moved ahead of the file: 4096 against 2048).
    // Later V8s size it their own way within the bound heap-tuning.test.ts checks (1.5-3.3 MB on Node 26).
    if (Number(process.versions.node.split('.')[0]) === 20) assert.equal(withFile, withFlags, sizes);
    else assert.ok(withFile <= 4096 && withFlags <= 4096, sizes);
  });
});
