// `dotstub run` started as root (the test runs as root) becomes --user nobody once its sockets are bound: the
// kernel says so (/proc/PID/status), and it still answers queries and its control channel. It runs in a private
// mount namespace with a tmpfs over /var/lib, so handing the system data directory to nobody changes nothing here.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { callDaemon } from '../../src/cli/control-client.js';
import { lookupAccount } from '../../src/system/privileges.js';
import { buildQuery, parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { caFile, getTestPki } from '../helpers/test-certs.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;
const why = !isRoot ? 'needs root' : !canUnshare ? 'needs unshare -m (mount namespaces)' : undefined;
// Under CI nothing is skipped: a machine that cannot run this test fails it.
const skip = why !== undefined && process.env.CI !== 'true' ? `skipped: ${why}` : false;

function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`no line matching ${String(re)} within ${ms} ms; output:\n${seen}`));
    }, ms);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const line = seen.split('\n').find((l) => re.test(l));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(seen);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dotstub exited ${String(code)} before ${String(re)}; output:\n${seen}`));
    });
  });
}

describe('privilege drop after binding', { skip }, () => {
  let dot: FakeUpstream;
  let child: ChildProcess | undefined;
  before(async () => {
    assert.equal(why, undefined, `this test ${why ?? ''} and CI=true forbids skipping it`);
    dot = await startFakeUpstream();
  });
  after(async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    await dot.close();
  });

  it('runs as nobody, answers queries and its control channel', async () => {
    const nobody = lookupAccount('nobody', readFileSync('/etc/passwd', 'utf8'));
    assert.ok(nobody, 'a nobody account');
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-drop-'));
    const control = join(dir, 'run', 'control.sock');
    const args = [
      ...['run', '--listen', '127.0.0.1@0', '--upstream', `127.0.0.1#${dot.port}~dot.test`],
      ...['-K', `pin-sha256="${getTestPki().ca.pin}"`, '--ca-file', caFile()],
      ...['--control', control, '--user', 'nobody', '--log-level', 'info'],
    ];
    // unshare execs sh, which execs node: the PID we spawn is the daemon's.
    child = spawn(
      'unshare',
      ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs /var/lib && exec "$0" "$@"', process.execPath, CLI, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    const output = await waitForLine(child, /msg=ready\b/, 15_000);
    assert.match(output, /msg="?dropped root"? .*user=nobody/);
    const port = Number(/listen=127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
    assert.ok(port > 0, output);

    const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
    const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1).map(Number);
    assert.deepEqual(
      uids,
      [nobody.uid, nobody.uid, nobody.uid, nobody.uid],
      'real, effective, saved and fs uid',
    );
    const gids = /^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1).map(Number);
    assert.deepEqual(gids, [nobody.gid, nobody.gid, nobody.gid, nobody.gid]);
    assert.match(status, new RegExp(`^Groups:\\s+${nobody.gid}\\s*$`, 'm'), 'root group dropped');
    assert.match(status, /^CapEff:\s+0+$/m, 'no capability left');

    const answer = parseAnswer(await udpQuery(port, buildQuery('host.example', 'A')));
    assert.equal(answer.rcode, 'NOERROR');
    const ping = (await callDaemon('ping', undefined, { path: control })) as { pid: number };
    assert.equal(ping.pid, child.pid);
    assert.equal(statSync(join(dir, 'run')).uid, nobody.uid, "the socket's directory was handed over");
  });
});
