// `dotstub run` with a configuration file, reloaded by `dotstub reload` and by SIGHUP: the built CLI as a
// user runs it. A file that does not validate leaves the running configuration in place and the command
// says why (exit 78); the daemon keeps answering.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildQuery, parseAnswer, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { withoutNudgeCopies } from '../helpers/fake-upstream-types.js';
import { caFile } from '../helpers/test-certs.js';
import { CLI_PATH as CLI, runCli, type CliRun } from '../helpers/run-cli.js';

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args);

describe('dotstub reload and SIGHUP', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let daemon: ChildProcess;
  let log = '';
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), 'dotstub-reload-'));
  const file = join(dir, 'config.json');
  const control = join(dir, 'control.sock');
  const write = (upstreams: number[], extra: Record<string, unknown> = {}): void => {
    writeFileSync(
      file,
      JSON.stringify({
        listen: ['127.0.0.1@0'],
        upstreams: upstreams.map((p) => `127.0.0.1#${p}~dot.test`),
        caFile: caFile(),
        ...extra,
      }),
    );
  };

  before(async () => {
    a = await startFakeUpstream();
    b = await startFakeUpstream();
    write([a.port]);
    daemon = spawn(process.execPath, [CLI, 'run', '--config', file, '--control', control], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    daemon.stderr?.setEncoding('utf8');
    daemon.stderr?.on('data', (chunk: string) => {
      log += chunk;
    });
    await waitFor(() => /msg=ready listen=127\.0\.0\.1:(\d+)/.test(log), 10_000, 'daemon ready');
    port = Number(/msg=ready listen=127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  });
  after(async () => {
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
    await a.close();
    await b.close();
  });

  it('dotstub reload applies a changed file and reports what changed', async () => {
    write([a.port, b.port]);
    const run = await cli(['reload', '--control', control]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      'reloaded: upstreams 1 kept, 1 added, 0 removed; listen addresses 1 kept, 0 added, 0 removed\n',
    );
    assert.match(log, /msg=reloaded trigger=control/);
  });

  it('a file that does not validate changes nothing: exit 78, the key named, still answering', async () => {
    write([a.port], { timeout: 5 });
    const run = await cli(['reload', '--control', control]);
    assert.equal(run.code, 78);
    assert.match(
      run.stderr,
      /timeout: 5 is not a whole number from 100 to 60000 ms .*\(the running configuration is unchanged\)/s,
    );
    assert.match(log, /level=error msg="reload failed; the running configuration stays in place"/);
    assert.equal(parseAnswer(await udpQuery(port, buildQuery('still.example', 'A'))).rcode, 'NOERROR');
  });

  it('SIGHUP re-reads the file', async () => {
    write([b.port]);
    daemon.kill('SIGHUP');
    await waitFor(() => /msg=reloaded trigger=SIGHUP/.test(log), 5000, 'SIGHUP reload');
    assert.match(log, /trigger=SIGHUP .*upstreams_kept=1 upstreams_added=0 upstreams_removed=1/);
    const before = withoutNudgeCopies(b.queries).length;
    assert.equal(parseAnswer(await udpQuery(port, buildQuery('b.example', 'A'))).rcode, 'NOERROR');
    // The daemon nudges as users run it: a fresh connection's first query may reach b twice.
    assert.equal(withoutNudgeCopies(b.queries).length, before + 1);
  });
});
