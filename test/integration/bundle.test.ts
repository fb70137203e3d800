// The bundle the `dotstub` bin runs (dist/src/cli/dotstub.mjs, made by scripts/bundle.mjs from the compiled
// code): every command loads from it, including the parts imported lazily (the config schema), and it
// answers a query over DoT like the unbundled CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
