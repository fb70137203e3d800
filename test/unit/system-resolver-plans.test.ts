// macOS and Windows resolver changes as exact command lists against fake command runners; the saved state
// survives a second enable and gives back each service's and interface's own servers (DHCP as DHCP).
// Also: who holds port 53 from a made-up /proc, and the probe that enable relies on.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { executePlan, type CommandRunner } from '../../src/system/executor.js';
import { planDisable, planEnable, type ResolverEnv } from '../../src/system/os-resolver.js';
import { adviceFor, findPort53Holders, otherHolders, parseSocketTable } from '../../src/system/port53.js';
import { probeDns } from '../../src/system/probe.js';
import { GATHER_SCRIPT } from '../../src/system/windows-resolver.js';
import { fakeRunner, link, makeRoot, put } from '../helpers/scratch-root.js';

const SERVERS = [
  { host: '127.0.0.1', port: 53 },
  { host: '::1', port: 53 },
];
const STATE = '/state/system-resolver.json';

function env(platform: 'darwin' | 'win32', runner: CommandRunner): ResolverEnv {
  return {
    platform,
    root: makeRoot(),
    runner,
    stateFile: STATE,
    now: () => new Date('2026-01-02T03:04:05Z'),
  };
}

async function cycle(
  e: ResolverEnv,
  calls: string[][],
): Promise<{ enable: string[][]; again: string[][]; disable: string[][] }> {
  const take = (): string[][] => calls.splice(0, calls.length);
  await executePlan((await planEnable(e, SERVERS)).plan, { root: e.root, runner: e.runner });
  const enable = take();
  const saved = readFileSync(join(e.root, STATE), 'utf8');
  const second = await planEnable(e, SERVERS);
  assert.equal(second.savesState, false);
  await executePlan(second.plan, { root: e.root, runner: e.runner });
  const again = take();
  assert.equal(readFileSync(join(e.root, STATE), 'utf8'), saved, 'the first saved state stays');
  await executePlan(planDisable(e)!.plan, { root: e.root, runner: e.runner });
  assert.equal(planDisable(e), undefined, 'the saved state is gone after disable');
  return { enable, again, disable: take() };
}

describe('macOS: networksetup for every service, IPv4 and IPv6', () => {
  it('sets 127.0.0.1 and ::1 everywhere, then gives each service its own list back (Empty for DHCP)', async () => {
    const fake = fakeRunner({
      'networksetup -listallnetworkservices': {
        stdout:
          'An asterisk (*) denotes that a network service is disabled.\nWi-Fi\nThunderbolt Bridge\n*USB 10/100/1000 LAN\n',
      },
      'networksetup -getdnsservers Wi-Fi': { stdout: "There aren't any DNS Servers set on Wi-Fi.\n" },
      'networksetup -getdnsservers Thunderbolt Bridge': { stdout: '192.0.2.53\n2001:db8::53\n' },
      'networksetup -getdnsservers USB 10/100/1000 LAN': {
        stdout: "There aren't any DNS Servers set on USB 10/100/1000 LAN.\n",
      },
    });
    const gather = [
      ['networksetup', '-listallnetworkservices'],
      ['networksetup', '-getdnsservers', 'Wi-Fi'],
      ['networksetup', '-getdnsservers', 'Thunderbolt Bridge'],
      ['networksetup', '-getdnsservers', 'USB 10/100/1000 LAN'],
    ];
    const set = [
      ['networksetup', '-setdnsservers', 'Wi-Fi', '127.0.0.1', '::1'],
      ['networksetup', '-setdnsservers', 'Thunderbolt Bridge', '127.0.0.1', '::1'],
      ['networksetup', '-setdnsservers', 'USB 10/100/1000 LAN', '127.0.0.1', '::1'],
    ];
    const flush = [
      ['dscacheutil', '-flushcache'],
      ['killall', '-HUP', 'mDNSResponder'],
    ];
    const r = await cycle(env('darwin', fake.runner), fake.calls);
    assert.deepEqual(r.enable, [...gather, ...set, ...flush]);
    assert.deepEqual(r.again, [...gather, ...set, ...flush]);
    assert.deepEqual(r.disable, [
      ['networksetup', '-setdnsservers', 'Wi-Fi', 'Empty'],
      ['networksetup', '-setdnsservers', 'Thunderbolt Bridge', '192.0.2.53', '2001:db8::53'],
      ['networksetup', '-setdnsservers', 'USB 10/100/1000 LAN', 'Empty'],
      ...flush,
    ]);
  });
});

describe('a service that appears after the first enable', () => {
  it('is saved too (the first entries untouched), so disable gives it its own servers back', async () => {
    const answers = {
      'networksetup -listallnetworkservices': {
        stdout: 'An asterisk (*) denotes that a network service is disabled.\nWi-Fi\n',
      },
      'networksetup -getdnsservers Wi-Fi': { stdout: '192.0.2.1\n' },
      'networksetup -getdnsservers VPN': { stdout: '10.8.0.1\n' },
    };
    const fake = fakeRunner(answers);
    const e = env('darwin', fake.runner);
    await executePlan((await planEnable(e, SERVERS)).plan, { root: e.root, runner: e.runner });
    answers['networksetup -listallnetworkservices'].stdout += 'VPN\n';
    answers['networksetup -getdnsservers Wi-Fi'].stdout = '127.0.0.1\n::1\n';
    await executePlan((await planEnable(e, SERVERS)).plan, { root: e.root, runner: e.runner });
    fake.calls.length = 0;
    await executePlan(planDisable(e)!.plan, { root: e.root, runner: e.runner });
    assert.deepEqual(fake.calls.slice(0, 2), [
      ['networksetup', '-setdnsservers', 'Wi-Fi', '192.0.2.1'],
      ['networksetup', '-setdnsservers', 'VPN', '10.8.0.1'],
    ]);
  });
});

describe('Windows: every interface that is up, IPv4 and IPv6', () => {
  it('sets both families, then resets DHCP interfaces and sets hand-made lists again', async () => {
    const gather = ['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', GATHER_SCRIPT];
    const interfaces = [
      {
        index: 12,
        alias: 'Wi-Fi',
        ipv4Static: false,
        ipv6Static: false,
        ipv4: ['192.168.1.1'],
        ipv6: ['fe80::1'],
      },
      {
        index: 7,
        alias: 'Ethernet',
        ipv4Static: true,
        ipv6Static: false,
        ipv4: ['10.0.0.53', '10.0.0.54'],
        ipv6: [],
      },
      { index: 3, alias: 'VPN', ipv4Static: true, ipv6Static: true, ipv4: ['10.8.0.1'], ipv6: ['fd00::1'] },
    ];
    const fake = fakeRunner({ [gather.join(' ')]: { stdout: JSON.stringify(interfaces) } });
    const ps = (script: string): string[] => [
      'powershell.exe',
      '-NoProfile',
      '-NonInteractive',
      '-Command',
      script,
    ];
    const set = [12, 7, 3].map((i) =>
      ps(`Set-DnsClientServerAddress -InterfaceIndex ${i} -ServerAddresses ('127.0.0.1','::1')`),
    );
    const flush = ps('Clear-DnsClientCache');
    const r = await cycle(env('win32', fake.runner), fake.calls);
    assert.deepEqual(r.enable, [gather, ...set, flush]);
    assert.deepEqual(r.again, [gather, ...set, flush]);
    assert.deepEqual(r.disable, [
      ps('Set-DnsClientServerAddress -InterfaceIndex 12 -ResetServerAddresses'),
      ps('Set-DnsClientServerAddress -InterfaceIndex 7 -ResetServerAddresses'),
      ps("Set-DnsClientServerAddress -InterfaceIndex 7 -ServerAddresses ('10.0.0.53','10.0.0.54')"),
      ps("Set-DnsClientServerAddress -InterfaceIndex 3 -ServerAddresses ('10.8.0.1','fd00::1')"),
      flush,
    ]);
  });

  it('a failing command stops the change and names it', async () => {
    const fake = fakeRunner({
      [['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', GATHER_SCRIPT].join(' ')]: {
        code: 1,
        stderr: 'Access is denied.',
      },
    });
    await assert.rejects(planEnable(env('win32', fake.runner), SERVERS), {
      code: 'ERR_DOTSTUB_SYSTEM',
      message: "reading the interfaces' DNS servers failed: Access is denied.",
    });
  });
});

describe('who holds port 53', () => {
  const udp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   991        0 4242 2 0000000000000000 0
  2: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5555 2 0000000000000000 0
`;
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
  0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0
  1: 0100007F:0035 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 8888 1 0000000000000000 100 0 0 10 0
`;
  const udp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 0
`;

  it('parses the tables: port 53 only, TCP in LISTEN only, addresses decoded', () => {
    assert.deepEqual(parseSocketTable(udp, 'udp'), [{ address: '127.0.0.53', inode: '4242' }]);
    assert.deepEqual(parseSocketTable(tcp, 'tcp'), [{ address: '127.0.0.1', inode: '7777' }]);
    assert.deepEqual(parseSocketTable(udp6, 'udp'), [{ address: '::1', inode: '9999' }]);
  });

  it('maps sockets to processes through /proc/PID/fd and names them', () => {
    const root = makeRoot();
    put(root, '/proc/net/udp', udp);
    put(root, '/proc/net/tcp', tcp);
    put(root, '/proc/net/udp6', udp6);
    put(root, '/proc/411/comm', 'systemd-resolve\n');
    link(root, '/proc/411/fd/12', 'socket:[4242]');
    put(root, '/proc/900/comm', 'dnsmasq\n');
    link(root, '/proc/900/fd/4', 'socket:[7777]');
    link(root, '/proc/900/fd/5', 'socket:[9999]');
    link(root, '/proc/900/fd/6', '/dev/null');
    assert.deepEqual(findPort53Holders(root), [
      { pid: 411, name: 'systemd-resolve', address: '127.0.0.53', protocol: 'udp' },
      { pid: 900, name: 'dnsmasq', address: '::1', protocol: 'udp' },
      { pid: 900, name: 'dnsmasq', address: '127.0.0.1', protocol: 'tcp' },
    ]);
    // enable's check: who else could have answered on 127.0.0.1 (dnsmasq's TCP socket there), not resolved's 127.0.0.53.
    assert.deepEqual(
      otherHolders(findPort53Holders(root), ['127.0.0.1']).map((h) => `${h.name} ${h.address}/${h.protocol}`),
      ['dnsmasq 127.0.0.1/tcp'],
    );
    assert.deepEqual(
      otherHolders(
        [
          { pid: 5, name: 'node', address: '0.0.0.0', protocol: 'udp' },
          { pid: 6, name: 'unbound', address: '0.0.0.0', protocol: 'udp' },
        ],
        ['127.0.0.1'],
      ).map((h) => h.name),
      ['unbound'],
    );
    assert.match(adviceFor('systemd-resolve'), /127\.0\.0\.53 only.*DNSStubListener=no/);
    assert.match(adviceFor('dnsmasq'), /systemctl disable --now dnsmasq/);
    assert.match(adviceFor('stubby'), /systemctl disable --now stubby/);
  });
});

describe('the enable probe', () => {
  it('counts an answer with our ID, refuses SERVFAIL, and times out on silence', async () => {
    const server = createSocket('udp4');
    let rcode = 0;
    let silent = false;
    server.on('message', (msg, peer) => {
      if (silent) return;
      const answer = Buffer.from(msg);
      answer[2] = 0x81;
      answer[3] = 0x80 | rcode;
      // A stray answer with another ID first: it must be ignored.
      const stray = Buffer.from(answer);
      stray[0] = (stray[0] ?? 0) ^ 0xff;
      server.send(stray, peer.port, peer.address);
      server.send(answer, peer.port, peer.address);
    });
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const target = { host: '127.0.0.1', port: server.address().port };
    try {
      assert.deepEqual(await probeDns(target, 2000), { ok: true, rcode: 0 });
      rcode = 2;
      assert.deepEqual(await probeDns(target, 2000), {
        ok: false,
        reason: 'it answered SERVFAIL: its upstreams do not work',
      });
      silent = true;
      assert.deepEqual(await probeDns(target, 200), { ok: false, reason: 'no answer within 200 ms' });
    } finally {
      server.close();
    }
  });
});
