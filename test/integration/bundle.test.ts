// The bundle the `dotstub` bin runs (dist/src/cli/dotstub.mjs and a bundle per command, made by
// scripts/bundle.mjs from the compiled code): every command loads from it, including the parts imported
// lazily (the config schema), errors keep their exit codes across the bundles, and it answers a query over
// DoT like the unbundled CLI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { BUNDLE_PATH, runCli } from '../helpers/run-cli.js';
import { getTestPki } from '../helpers/test-certs.js';

const bundled = (args: readonly string[]) => runCli(args, { cli: BUNDLE_PATH });

describe('the bundled CLI (the package bin)', () => {
  let dot: FakeUpstream;
  const dir = mkdtempSync(join(tmpdir(), 'dotstub-bundle-'));
  before(async () => {
    dot = await startFakeUpstream();
  });
  after(async () => {
    await dot.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the version from package.json (paths relative to the bundle resolve as unbundled)', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await bundled(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `dotstub ${pkg.version}\n`);
  });

  it('loads every command the help lists, each from its own bundle', async () => {
    const help = await bundled(['help']);
    assert.equal(help.code, 0, help.stderr);
    const names = [...help.stdout.matchAll(/^ {2}([a-z]+) /gm)]
      .map((m) => m[1] ?? '')
      .filter((n) => n !== 'help' && n !== 'version');
    assert.ok(names.length >= 10, `commands in the help: ${names.join(' ')}`);
    for (const name of names) {
      const r = await bundled([name, '--help']);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: dotstub ${name}`), name);
      assert.ok(existsSync(join(dirname(BUNDLE_PATH), `dotstub-${name}.mjs`)), `dotstub-${name}.mjs`);
    }
  });

  it('maps a command error to its exit code and message, without a stack (an error named by its code)', async () => {
    const r = await bundled(['run', '--listen', '127.0.0.1@5353', '--upstream', 'not-an-address']);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /^dotstub: .*not-an-address/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('answers a query over DoT, authenticated by a pin', async () => {
    const pin = getTestPki().leaf.pin;
    const r = await bundled([
      'query',
      '-K',
      `pin-sha256="${pin}"`,
      `@127.0.0.1#${dot.port}~dot.test`,
      'host.example',
      'A',
      '-j',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { status: string; replies: { rcode?: string }[] };
    assert.equal(doc.replies[0]?.rcode, 'NOERROR');
  });

  it('loads the config schema on demand: a bad file is refused, naming the key', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ timeout: -5 }));
    const r = await bundled(['config', 'validate', file]);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /timeout/);
  });
});
