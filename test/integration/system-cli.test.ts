// The real CLI against the real paths, inside a private mount namespace (unshare -m, as root): a scratch file is
// bind-mounted over /etc/resolv.conf and a tmpfs over /var/lib (where the saved state goes). enable, enable
// again, status, disable; the file's bytes and mode come back. enable refuses when nothing answers.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;
const why = !isRoot ? 'needs root' : !canUnshare ? 'needs unshare -m (mount namespaces)' : undefined;
// Under CI nothing is skipped: a machine that cannot run this test fails it.
const skip = why !== undefined && process.env.CI !== 'true' ? `skipped: ${why}` : false;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** Runs `script` in a private mount namespace with the scratch resolv.conf mounted and a fresh /var/lib. */
function inNamespace(resolv: string, script: string): Promise<Run> {
  const prelude = `set -e; mount --bind "$1" /etc/resolv.conf; mount -t tmpfs tmpfs /var/lib; N="$2"; C="$3"; dotstub() { "$N" "$C" "$@"; }`;
  return run('unshare', ['-m', 'sh', '-c', `${prelude}\n${script}`, 'sh', resolv, process.execPath, CLI]);
}

const ORIGINAL = 'nameserver 192.0.2.1\nsearch example.net\noptions timeout:1'; // no final newline, on purpose

describe('dotstub system in a private mount namespace', { skip }, () => {
  let dns: Socket;
  let port = 0;
  before(async () => {
    assert.equal(why, undefined, `this test ${why ?? ''} and CI=true forbids skipping it`);
    dns = createSocket('udp4');
    dns.on('message', (msg, peer) => {
      const answer = Buffer.from(msg);
      answer[2] = 0x81;
      answer[3] = 0x80;
      dns.send(answer, peer.port, peer.address);
    });
    await new Promise<void>((r) => dns.bind(0, '127.0.0.1', r));
    port = dns.address().port;
  });
  after(() => {
    dns.close();
  });

  it('enable, enable again, status, disable: resolv.conf comes back byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-ns-'));
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, ORIGINAL);
    chmodSync(resolv, 0o640);
    const listen = `--listen 127.0.0.1@${port}`;
    const r = await inNamespace(
      resolv,
      `dotstub system enable ${listen}
cp /etc/resolv.conf "${dir}/enabled"
echo ---
dotstub system enable ${listen}
echo ---
dotstub system status ${listen} --control "${dir}/no.sock"
echo ---
dotstub system disable
echo ---
dotstub system disable`,
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const [first, second, status, disable, again] = r.stdout.split('---\n');
    assert.match(first!, /^warning: resolv\.conf cannot name a port/m);
    assert.match(
      first!,
      /dotstub is now this machine's resolver \(resolv\.conf\)\. The previous settings were saved in \/var\/lib\/dotstub\/system-resolver\.json/,
    );
    assert.match(second!, /The settings saved by the first enable stay in/);
    assert.equal(
      readFileSync(join(dir, 'enabled'), 'utf8'),
      '# Written by `dotstub system enable`: queries go to dotstub, which sends them over DNS-over-TLS.\n# `dotstub system disable` puts back the previous file exactly.\nnameserver 127.0.0.1\nsearch example.net\noptions timeout:1\n',
    );
    assert.match(status!, /\/etc\/resolv\.conf names: 127\.0\.0\.1 \(managed by resolv\.conf\)/);
    assert.match(status!, /set by dotstub: yes, since /);
    assert.match(status!, new RegExp(`127\\.0\\.0\\.1 port ${port}: answers`));
    assert.match(
      status!,
      /queries leave encrypted: unknown: dotstub answers, but did not say its upstream profile/,
    );
    assert.match(disable!, /the previous resolver settings are back \(resolv\.conf\)/);
    assert.match(again!, /nothing to put back/);
    assert.equal(readFileSync(resolv, 'utf8'), ORIGINAL);
    assert.equal(statSync(resolv).mode & 0o777, 0o640);
  });

  it('enable refuses when dotstub does not answer, names who holds port 53, and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-ns-'));
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, ORIGINAL);
    // A port nothing answers on: bound and closed again.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const dead = silent.address().port;
    silent.close();
    const r = await inNamespace(
      resolv,
      `dotstub system enable --listen 127.0.0.1@${dead} || echo "exit $?"; ls /var/lib`,
    );
    assert.match(r.stdout, /^exit 69$/m, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stderr,
      /dotstub does not answer, so the resolver was left alone \(127\.0\.0\.1 port \d+: /,
    );
    assert.match(r.stderr, /Start it first \(`sudo dotstub service install`\)/);
    assert.match(r.stderr, /Port 53 is held by:|Nothing holds port 53 on this machine\./);
    assert.equal(readFileSync(resolv, 'utf8'), ORIGINAL);
    assert.doesNotMatch(r.stdout, /dotstub/, 'no state directory was made');
  });
});

describe('dotstub service --dry-run', () => {
  it('prints the systemd unit with this node and this dotstub, and the commands; changes nothing', async () => {
    const r = await run(process.execPath, [CLI, 'service', 'install', '--dry-run', '--init', 'systemd']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^write \/etc\/systemd\/system\/dotstub\.service \(mode 0644\):$/m);
    assert.ok(
      r.stdout.includes(
        // The service runs the bundled bin beside main.js (npm run build makes it), not main.js.
        `    | ExecStart=${process.execPath} ${join(dirname(CLI), 'dotstub.mjs')} run --config /etc/dotstub/config.json --control /run/dotstub/control.sock\n`,
      ),
      r.stdout,
    );
    assert.match(
      r.stdout,
      /^run systemctl daemon-reload\nrun systemctl enable dotstub\.service\nrun systemctl restart dotstub\.service\n$/m,
    );
    const un = await run(process.execPath, [CLI, 'service', 'uninstall', '--dry-run', '--init', 'launchd']);
    assert.equal(
      un.stdout,
      'nothing to uninstall: no manifest at /Library/Application Support/dotstub/data/service-manifest.json (dotstub service install has not run here)\n',
    );
    const bad = await run(process.execPath, [CLI, 'service', 'install', '--init', 'upstart', '--dry-run']);
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /--init: "upstart" is not one of systemd, launchd, windows/);
  });
});
