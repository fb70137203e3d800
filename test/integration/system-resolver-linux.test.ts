// The Linux resolver backends run for real against a scratch root: resolv.conf plain and symlinked, a
// systemd-resolved drop-in directory, a NetworkManager conf.d. Enable, enable again, disable, and the tree
// must come back byte for byte (contents, modes, link targets), the saved state gone.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HostPort } from '../../src/config/addresses.js';
import { executePlan } from '../../src/system/executor.js';
import { detectLinuxBackend } from '../../src/system/linux-resolver.js';
import { planDisable, planEnable, type ResolverEnv } from '../../src/system/os-resolver.js';
import { fakeRunner, link, makeRoot, put, tree } from '../helpers/scratch-root.js';

const STATE = '/var/lib/dotstub/system-resolver.json';
const SERVERS: HostPort[] = [
  { host: '127.0.0.1', port: 53 },
  { host: '::1', port: 53 },
];

function env(root: string, runner = fakeRunner()): ResolverEnv & { calls: string[][] } {
  return {
    platform: 'linux',
    root,
    runner: runner.runner,
    calls: runner.calls,
    stateFile: STATE,
    now: () => new Date('2026-01-02T03:04:05Z'),
  };
}

async function enable(e: ResolverEnv): Promise<string> {
  const { plan, backend } = await planEnable(e, SERVERS);
  await executePlan(plan, { root: e.root, runner: e.runner });
  return backend;
}

async function disable(e: ResolverEnv): Promise<void> {
  const planned = planDisable(e);
  assert.ok(planned, 'a saved state to restore');
  await executePlan(planned.plan, { root: e.root, runner: e.runner });
}

/** enable, enable again (nothing saved twice, same result), disable: the original tree, byte for byte. */
async function roundTrip(
  root: string,
  expectedBackend: string,
): Promise<{ enabled: Record<string, string>; calls: string[][] }> {
  const e = env(root);
  const before = tree(root);
  assert.equal(await enable(e), expectedBackend);
  const saved = readFileSync(join(root, STATE));
  const enabled = tree(root);
  assert.equal(await enable(e), expectedBackend);
  assert.deepEqual(readFileSync(join(root, STATE)), saved, 'a second enable keeps the first saved state');
  assert.deepEqual(tree(root), enabled, 'enable twice gives the same result');
  await disable(e);
  assert.equal(existsSync(join(root, STATE)), false, 'the saved state is removed');
  // The data directory (var/) stays; everything else is as it was.
  assert.deepEqual(tree(root, ['var']), before);
  assert.equal(planDisable(e), undefined, 'nothing left to restore');
  return { enabled, calls: e.calls };
}

const ENABLED_RESOLV = `# Written by \`dotstub system enable\`: queries go to dotstub, which sends them over DNS-over-TLS.
# \`dotstub system disable\` puts back the previous file exactly.
nameserver 127.0.0.1
nameserver ::1
`;

describe('system resolver on Linux (scratch root)', () => {
  it('plain resolv.conf: replaced, search and options kept, then restored with its bytes and mode', async () => {
    const root = makeRoot();
    // No newline at the end and mode 0640: both must survive.
    put(root, '/etc/resolv.conf', 'nameserver 10.0.0.1\nsearch corp.example\noptions ndots:2', 0o640);
    assert.equal(detectLinuxBackend(root), 'resolv.conf');
    const { enabled, calls } = await roundTrip(root, 'resolv.conf');
    assert.equal(
      Buffer.from(enabled['etc/resolv.conf']!.split(' ')[2]!, 'base64').toString(),
      `${ENABLED_RESOLV}search corp.example\noptions ndots:2\n`,
    );
    assert.match(enabled['etc/resolv.conf']!, /^f 644 /);
    assert.deepEqual(calls, []);
    assert.equal(
      readFileSync(join(root, 'etc/resolv.conf'), 'utf8'),
      'nameserver 10.0.0.1\nsearch corp.example\noptions ndots:2',
    );
    assert.equal(lstatSync(join(root, 'etc/resolv.conf')).mode & 0o777, 0o640);
  });

  it('symlinked resolv.conf: the link becomes a file, and the exact link target comes back', async () => {
    const root = makeRoot();
    put(root, '/run/resolvconf/resolv.conf', 'nameserver 192.0.2.1\nsearch lan\n');
    link(root, '/etc/resolv.conf', '../run/resolvconf/resolv.conf');
    const { enabled } = await roundTrip(root, 'resolv.conf');
    assert.match(enabled['etc/resolv.conf']!, /^f 644 /);
    assert.equal(readlinkSync(join(root, 'etc/resolv.conf')), '../run/resolvconf/resolv.conf');
  });

  it('systemd-resolved: a drop-in in a new resolved.conf.d, resolved restarted; the directory goes again', async () => {
    const root = makeRoot();
    put(root, '/run/systemd/resolve/stub-resolv.conf', 'nameserver 127.0.0.53\noptions edns0 trust-ad\n');
    put(root, '/etc/systemd/resolved.conf', '[Resolve]\n');
    link(root, '/etc/resolv.conf', '../run/systemd/resolve/stub-resolv.conf');
    const { enabled, calls } = await roundTrip(root, 'resolved');
    assert.equal(
      Buffer.from(enabled['etc/systemd/resolved.conf.d/dotstub.conf']!.split(' ')[2]!, 'base64').toString(),
      `# Written by \`dotstub system enable\`; \`dotstub system disable\` removes it.
# Every domain (~.) goes to dotstub, which sends it on over DNS-over-TLS. resolved's stub on 127.0.0.53 stays.
[Resolve]
DNS=127.0.0.1 ::1
Domains=~.
`,
    );
    assert.equal(
      enabled['etc/resolv.conf'],
      'l -> ../run/systemd/resolve/stub-resolv.conf',
      'resolv.conf untouched',
    );
    assert.deepEqual(calls, [
      ['systemctl', 'restart', 'systemd-resolved'],
      ['systemctl', 'restart', 'systemd-resolved'],
      ['systemctl', 'restart', 'systemd-resolved'],
    ]);
    assert.equal(existsSync(join(root, 'etc/systemd/resolved.conf.d')), false);
  });

  it('systemd-resolved: an existing drop-in directory and its other files stay', async () => {
    const root = makeRoot();
    put(root, '/run/systemd/resolve/stub-resolv.conf', 'nameserver 127.0.0.53\n');
    put(root, '/etc/systemd/resolved.conf.d/local.conf', '[Resolve]\nLLMNR=no\n', 0o600);
    link(root, '/etc/resolv.conf', '../run/systemd/resolve/stub-resolv.conf');
    await roundTrip(root, 'resolved');
    assert.equal(
      readFileSync(join(root, 'etc/systemd/resolved.conf.d/local.conf'), 'utf8'),
      '[Resolve]\nLLMNR=no\n',
    );
  });

  it('NetworkManager: dns=none in conf.d, resolv.conf written, NetworkManager reloaded; both put back', async () => {
    const root = makeRoot();
    put(root, '/etc/NetworkManager/NetworkManager.conf', '[main]\nplugins=ifupdown,keyfile\n');
    put(
      root,
      '/etc/NetworkManager/conf.d/default-wifi-powersave-on.conf',
      '[connection]\nwifi.powersave = 3\n',
    );
    put(
      root,
      '/run/NetworkManager/resolv.conf',
      '# Generated by NetworkManager\nsearch home\nnameserver 192.168.1.1\n',
    );
    link(root, '/etc/resolv.conf', '/run/NetworkManager/resolv.conf');
    const { enabled, calls } = await roundTrip(root, 'networkmanager');
    assert.equal(
      Buffer.from(enabled['etc/NetworkManager/conf.d/90-dotstub.conf']!.split(' ')[2]!, 'base64').toString(),
      '# Written by `dotstub system enable`; `dotstub system disable` removes it.\n# NetworkManager leaves /etc/resolv.conf alone, which points at dotstub.\n[main]\ndns=none\n',
    );
    assert.equal(
      Buffer.from(enabled['etc/resolv.conf']!.split(' ')[2]!, 'base64').toString(),
      `${ENABLED_RESOLV}search home\n`,
    );
    assert.deepEqual(calls.at(-1), ['systemctl', 'reload', 'NetworkManager']);
    assert.equal(calls.length, 3);
    assert.equal(readlinkSync(join(root, 'etc/resolv.conf')), '/run/NetworkManager/resolv.conf');
  });

  it('a missing resolv.conf is missing again after disable', async () => {
    const root = makeRoot();
    put(root, '/etc/hostname', 'box\n');
    await roundTrip(root, 'resolv.conf');
    assert.equal(existsSync(join(root, 'etc/resolv.conf')), false);
  });

  it('a failing command stops the plan and names it', async () => {
    const root = makeRoot();
    put(root, '/run/systemd/resolve/stub-resolv.conf', 'nameserver 127.0.0.53\n');
    link(root, '/etc/resolv.conf', '../run/systemd/resolve/stub-resolv.conf');
    const e = env(
      root,
      fakeRunner({ 'systemctl restart systemd-resolved': { code: 5, stderr: 'Unit not found.' } }),
    );
    await assert.rejects(enable(e), {
      code: 'ERR_DOTSTUB_SYSTEM',
      message: '`systemctl restart systemd-resolved` exited 5: Unit not found.',
    });
    assert.ok(existsSync(join(root, STATE)), 'the original was saved before anything changed');
  });
});
