// A stubby user's move: Debian's packaged /etc/stubby/stubby.yml, imported with `dotstub config
// import-stubby --write`, its upstreams rewritten to the loopback unbound (the only server a test may use),
// and dotstub started on the result answers kdig and dig. Everything else the import produced (Strict
// profile, padding, ECS privacy, round robin, idle timeout) is kept as imported.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AUTH_NAME,
  CLI_PATH,
  dig,
  hostA,
  hostName,
  InteropEnv,
  kdig,
  makeTempDir,
  ManagedProcess,
  requirePeer,
  withFreePort,
  wrongPin,
} from './harness.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';

const STUBBY_YML = '/etc/stubby/stubby.yml';
const env = new InteropEnv();
const temp = makeTempDir('stubby-import');
after(async () => {
  assert.deepEqual(await env.close(), []);
  temp.remove();
});

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args);

void test("Debian's stubby.yml, imported and pointed at a loopback unbound, serves kdig and dig", async (t) => {
  if (!requirePeer(t, 'stubby', 'kdig', 'dig')) return;
  if (!existsSync(STUBBY_YML)) {
    t.skip(`${STUBBY_YML} is missing (install the stubby package)`);
    return;
  }
  const ub = await env.unbound(t);
  if (!ub) return;
  const file = join(temp.dir, 'config.json');
  const imported = await cli(['config', '--config', file, 'import-stubby', STUBBY_YML, '--write']);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, /note: resolution_type: not taken/);
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.equal(config.profile, 'strict');
  assert.equal(config.ecsPrivate, true);
  assert.ok(Array.isArray(config.upstreams) && config.upstreams.length > 0);
  const d = await withFreePort(async (port) => {
    writeFileSync(
      file,
      JSON.stringify({
        ...config,
        listen: [`127.0.0.1@${port}`],
        // The loopback unbound, authenticated as the imported upstreams were: name and pinset (a backup pin too).
        upstreams: [{ address: '127.0.0.1', port: ub.port, authName: AUTH_NAME, pins: [ub.pin, wrongPin()] }],
        caFile: ub.caFile,
      }),
    );
    const proc = await ManagedProcess.start(
      'dotstub',
      process.execPath,
      [CLI_PATH, 'run', '--config', file],
      {
        env: { ...process.env, NO_COLOR: '1' },
        cwd: temp.dir,
      },
    );
    try {
      await proc.waitForLine(/msg=ready\b/, 10_000);
    } catch (err) {
      await proc.stop(10_000);
      throw err;
    }
    return { port, proc };
  });
  try {
    const a = await kdig(d.port, hostName(31), 'A', { transport: 'udp' });
    assert.equal(a.status, 'NOERROR', d.proc.tail());
    assert.deepEqual(
      a.answers.map((x) => x.data),
      [hostA(31)],
    );
    const b = await dig(d.port, hostName(32), 'A', { transport: 'tcp' });
    assert.equal(b.status, 'NOERROR', d.proc.tail());
  } finally {
    const exit = await d.proc.stop(10_000);
    assert.equal(exit.code, 0, d.proc.tail());
  }
});
