// Pure parts of desktop life: wake detection, network-change debounce, split routing, local zones,
// the OS's per-link DNS parsers, portal durations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkInterfaceInfo } from 'node:os';
import * as dnsPacket from 'dns-packet';
import { parseMessage } from '../../src/dns/wire.js';
import { localZoneAnswer } from '../../src/dns/local-zone.js';
import {
  LOCALLY_SERVED_ZONES,
  nameOfKey,
  SplitRoutes,
  type SplitRule,
} from '../../src/resolver/split-routes.js';
import { WakeDetector } from '../../src/desktop/wake-detector.js';
import { addressLines, NetworkWatcher, type NetworkSample } from '../../src/desktop/network-watcher.js';
import {
  bareServer,
  networkServers,
  parseNmcliDeviceShow,
  parseResolvConf,
  parseResolvectlStatus,
  readSystemLinks,
  systemRules,
} from '../../src/desktop/system-domains.js';
import { parseDuration } from '../../src/cli/portal-command.js';
import type { Upstream } from '../../src/upstream/upstream.js';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  NMCLI_TERSE_VPN,
  RESOLV_CONF_DHCP,
  RESOLV_CONF_STUB,
  RESOLVECTL_241,
  RESOLVECTL_252_VPN,
} from '../fixtures/system-dns-output.js';

describe('WakeDetector', () => {
  it('reports a wake when the wall clock runs ahead of the monotonic one by more than the threshold', () => {
    let wall = 1_700_000_000_000;
    let mono = 5000;
    const wakes: number[] = [];
    const timers = new ManualClock();
    const detector = new WakeDetector({
      wallNow: () => wall,
      monoNow: () => mono,
      clock: timers,
      intervalMs: 5000,
      thresholdMs: 10_000,
      onWake: (ms) => wakes.push(ms),
    });
    detector.start();
    // Awake: both clocks move together, a little drift is not sleep.
    wall += 5000;
    mono += 5000;
    timers.advance(5000);
    wall += 5300;
    mono += 5000;
    timers.advance(5000);
    assert.deepEqual(wakes, []);
    // Suspended for an hour: the monotonic clock stood still.
    wall += 3_600_000 + 5000;
    mono += 5000;
    timers.advance(5000);
    assert.deepEqual(wakes, [3_600_000]);
    // And only once.
    wall += 5000;
    mono += 5000;
    timers.advance(5000);
    assert.equal(wakes.length, 1);
    detector.stop();
    assert.equal(timers.pending, 0);
  });

  it('ignores an event loop stall: both clocks advance alike', () => {
    let wall = 0;
    let mono = 0;
    const wakes: number[] = [];
    const detector = new WakeDetector({
      wallNow: () => wall,
      monoNow: () => mono,
      onWake: (ms) => wakes.push(ms),
    });
    wall += 60_000;
    mono += 60_000;
    assert.equal(detector.check(), undefined);
    assert.deepEqual(wakes, []);
  });
});

describe('NetworkWatcher', () => {
  const iface = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4'): NetworkInterfaceInfo => ({
    address,
    netmask: '255.255.255.0',
    family,
    mac: '00:00:00:00:00:00',
    internal: false,
    cidr: `${address}/24`,
    scopeid: 0,
  });

  it('reports a settled change once, after the debounce, with the new routes', async () => {
    const clock = new ManualClock();
    let interfaces: Record<string, NetworkInterfaceInfo[]> = { wlan0: [iface('192.168.1.20')] };
    let v6 = true;
    const changes: NetworkSample[] = [];
    const watcher = new NetworkWatcher({
      clock,
      interfaces: () => interfaces,
      probeRoutes: () => Promise.resolve({ '2001:db8::53': v6 }),
      debounceMs: 1000,
      onChange: (s) => changes.push(s),
    });
    await watcher.start();
    watcher.stop();
    assert.equal(await watcher.poll(), false, 'nothing changed');
    interfaces = { wlan0: [iface('10.1.2.3')] };
    v6 = false;
    assert.equal(await watcher.poll(), false, 'new picture seen, not yet settled');
    clock.advance(400);
    interfaces = { wlan0: [iface('10.1.2.4')] };
    assert.equal(await watcher.poll(), false, 'still moving: the debounce restarts');
    clock.advance(1000);
    assert.equal(await watcher.poll(), true);
    assert.equal(changes.length, 1);
    assert.deepEqual(changes[0]?.addresses, ['wlan0 IPv4 10.1.2.4/24']);
    assert.deepEqual(changes[0].routes, { '2001:db8::53': false });
    clock.advance(5000);
    assert.equal(await watcher.poll(), false, 'reported once');
  });

  it('leaves out loopback addresses and sorts the rest', () => {
    assert.deepEqual(
      addressLines({
        lo: [{ ...iface('127.0.0.1'), internal: true }],
        eth1: [iface('10.0.0.2')],
        eth0: [iface('fd00::2', 'IPv6')],
      }),
      ['eth0 IPv6 fd00::2/24', 'eth1 IPv4 10.0.0.2/24'],
    );
  });
});

describe('SplitRoutes', () => {
  const fake = (id: string): Upstream => ({ id }) as unknown as Upstream;
  const corp: SplitRule = {
    suffixes: ['corp.example'],
    upstreams: [fake('corp')],
    source: 'config',
    clear: false,
  };
  const lab: SplitRule = {
    suffixes: ['lab.corp.example'],
    upstreams: [fake('lab')],
    source: 'config',
    clear: true,
  };
  const router: SplitRule = {
    suffixes: ['fritz.box', 'lan', '168.192.in-addr.arpa'],
    upstreams: [fake('router')],
    source: 'config',
    clear: true,
  };
  const routes = new SplitRoutes([corp, lab, router]);
  const where = (name: string): string | undefined => {
    const m = routes.match(name);
    return m === undefined ? undefined : m.kind === 'local' ? `local:${m.zone}` : m.rule.upstreams[0]?.id;
  };

  it('sends a name to the longest matching suffix, label-wise and case-insensitively', () => {
    assert.equal(where('WWW.Corp.Example.'), 'corp');
    assert.equal(where('corp.example'), 'corp');
    assert.equal(where('db.lab.corp.example'), 'lab');
    assert.equal(where('nas.LAN.'), 'router');
    assert.equal(where('notcorp.example'), undefined, 'a suffix matches whole labels only');
    assert.equal(where('example'), undefined);
    assert.equal(where(''), undefined, 'the root goes to the public upstreams');
  });

  it('answers private reverse zones and .local itself, unless a rule routes them', () => {
    assert.equal(where('1.0.0.10.in-addr.arpa'), 'local:10.in-addr.arpa');
    assert.equal(where('5.3.20.172.in-addr.arpa'), 'local:20.172.in-addr.arpa');
    assert.equal(where('5.3.32.172.in-addr.arpa'), undefined, '172.32/16 is public');
    assert.equal(where('printer.local.'), 'local:local');
    assert.equal(where('app.localhost.'), 'local:localhost');
    assert.equal(where('localhost'), 'local:localhost');
    assert.equal(where('localhost.example'), undefined, 'only names under localhost itself');
    assert.equal(where('4.3.254.169.in-addr.arpa'), 'local:254.169.in-addr.arpa');
    assert.equal(where(`${'a.b.c.d.'.repeat(7)}0.0.d.f.ip6.arpa`), 'local:d.f.ip6.arpa');
    assert.equal(where('1.2.0.8.e.f.ip6.arpa'), 'local:8.e.f.ip6.arpa');
    assert.equal(where('7.178.168.192.in-addr.arpa'), 'router', 'the rule for 168.192 wins');
    assert.equal(where('8.8.8.8.in-addr.arpa'), undefined);
    assert.equal(LOCALLY_SERVED_ZONES.filter((z) => z.endsWith('.172.in-addr.arpa')).length, 16);
  });

  it('reads the name of a question key, slashes in labels included', () => {
    assert.equal(nameOfKey('www.example.org./1/1'), 'www.example.org');
    assert.equal(nameOfKey('a/b.example./28/1'), 'a/b.example');
    assert.equal(nameOfKey('./2/1'), '');
    const key = (name: string) => routes.matchNormalized(nameOfKey(name));
    assert.equal(key('db.lab.corp.example./1/1')?.kind, 'rule', 'a key routes as its name does');
    assert.deepEqual(key('db.lab.corp.example./1/1'), routes.match('DB.Lab.Corp.Example.'));
    assert.deepEqual(key('printer.local./1/1'), { kind: 'local', zone: 'local' });
    assert.equal(key('www.example.org./1/1'), undefined);
  });

  it("routes a question key in place as it routes the key's name (matchKey)", () => {
    const keys = [
      'db.lab.corp.example./1/1',
      'printer.local./1/1',
      'local./6/1',
      'localx./1/1',
      'loca./1/1',
      'x.arpa./12/1',
      '7.178.168.192.in-addr.arpa./12/1',
      '1.0.0.10.in-addr.arpa./12/1',
      'app.localhost./28/1',
      'www.example.org./1/1',
      'www.example.org./1/1|do0',
      'a/b.local./1/1',
      './2/1',
      'example./1/1',
    ];
    const rooted = new SplitRoutes([{ suffixes: [''], upstreams: [], source: 'config', clear: false }]);
    for (const table of [routes, new SplitRoutes([]), rooted])
      for (const k of keys) assert.deepEqual(table.matchKey(k), table.matchNormalized(nameOfKey(k)), k);
  });
});

describe('localZoneAnswer', () => {
  it('says NXDOMAIN with the RFC 6303 SOA below the apex, echoing ID, question and EDNS', () => {
    const query = buildQuery('4.3.2.10.in-addr.arpa', 'PTR', { id: 4242, edns: true });
    const answer = localZoneAnswer(query, parseMessage(query), '10.in-addr.arpa');
    const decoded = parseAnswer(answer);
    assert.equal(decoded.id, 4242);
    assert.equal(decoded.rcode, 'NXDOMAIN');
    assert.equal(decoded.aa, true);
    assert.equal(decoded.questions?.[0]?.name, '4.3.2.10.in-addr.arpa');
    assert.equal(decoded.answers?.length, 0);
    const soa = decoded.authorities?.[0] as dnsPacket.Answer & { data: dnsPacket.SoaData };
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, '10.in-addr.arpa');
    assert.equal(soa.ttl, 10800);
    assert.deepEqual(
      [
        soa.data.mname,
        soa.data.rname,
        soa.data.serial,
        soa.data.refresh,
        soa.data.retry,
        soa.data.expire,
        soa.data.minimum,
      ],
      ['10.in-addr.arpa', 'nobody.invalid', 1, 3600, 1200, 604800, 10800],
    );
    assert.equal(decoded.additionals?.[0]?.type, 'OPT');
    assert.doesNotThrow(() => parseMessage(answer), 'well-formed to the last byte (a strict parse)');
  });

  it('answers the SOA at the apex, and NODATA for other types there', () => {
    const soaQuery = buildQuery('Local.', 'SOA', { id: 1 });
    const soa = parseAnswer(localZoneAnswer(soaQuery, parseMessage(soaQuery), 'local'));
    assert.equal(soa.rcode, 'NOERROR');
    assert.equal(soa.answers?.[0]?.type, 'SOA');
    const aQuery = buildQuery('local', 'A', { id: 2 });
    const nodata = parseAnswer(localZoneAnswer(aQuery, parseMessage(aQuery), 'local'));
    assert.equal(nodata.rcode, 'NOERROR');
    assert.equal(nodata.answers?.length, 0);
    assert.equal(nodata.authorities?.[0]?.type, 'SOA');
  });

  it('answers localhost names with the loopback addresses, and NODATA for other types (RFC 6761 sec. 6.3)', () => {
    const ask = (name: string, type: string) => {
      const query = buildQuery(name, type, { id: 7, edns: true });
      const answer = localZoneAnswer(query, parseMessage(query), 'localhost');
      assert.doesNotThrow(() => parseMessage(answer), 'well-formed to the last byte (a strict parse)');
      return parseAnswer(answer);
    };
    const a = ask('localhost', 'A');
    assert.equal(a.rcode, 'NOERROR');
    assert.equal(a.aa, true);
    assert.deepEqual(
      a.answers?.map((r) => [r.name, r.type, (r as { data?: unknown }).data]),
      [['localhost', 'A', '127.0.0.1']],
    );
    const aaaa = ask('App.Dev.LOCALHOST.', 'AAAA');
    assert.deepEqual(
      aaaa.answers?.map((r) => [r.name, r.type, (r as { data?: unknown }).data]),
      [['App.Dev.LOCALHOST', 'AAAA', '::1']],
      'a name under localhost too, in the case it was asked',
    );
    const mx = ask('mail.localhost', 'MX');
    assert.equal(mx.rcode, 'NOERROR', 'every localhost name exists: NODATA, not NXDOMAIN');
    assert.equal(mx.answers?.length, 0);
    assert.equal(mx.authorities?.[0]?.type, 'SOA');
    assert.equal(ask('localhost', 'SOA').answers?.[0]?.type, 'SOA');
  });
});

describe('system DNS parsers', () => {
  it('reads per-link servers, domains and the default route from resolvectl (systemd 252)', () => {
    const links = parseResolvectlStatus(RESOLVECTL_252_VPN);
    assert.deepEqual(
      links.map((l) => [l.name, l.servers, l.domains, l.defaultRoute]),
      [
        ['wlp0s20f3', ['192.168.178.1', 'fd00::3681:c4ff:fe12:3456'], ['fritz.box'], true],
        ['docker0', [], [], false],
        [
          'tun0',
          ['10.8.0.1', '10.8.0.2'],
          ['corp.example', '10.in-addr.arpa', 'internal.corp.example'],
          false,
        ],
        ['wg0', ['10.64.0.1'], ['com'], true],
      ],
    );
  });

  it('reads the older systemd 241 layout and skips the global section', () => {
    assert.deepEqual(parseResolvectlStatus(RESOLVECTL_241), [
      { name: 'enp0s31f6', servers: ['192.168.1.1'], domains: ['lan'], defaultRoute: true },
    ]);
  });

  it('reads nmcli terse output with escaped colons', () => {
    const links = parseNmcliDeviceShow(NMCLI_TERSE_VPN);
    assert.deepEqual(
      links.map((l) => [l.name, l.servers, l.domains]),
      [
        ['wlp0s20f3', ['192.168.178.1', 'fd00::3681:c4ff:fe12:3456'], ['fritz.box']],
        ['tun0', ['10.8.0.1', '10.8.0.2'], ['corp.example', '10.in-addr.arpa']],
        ['lo', [], []],
        ['p2p-dev-wlp0s20f3', [], []],
      ],
    );
  });

  it('turns links into split rules, ignoring public single labels and loopback servers', () => {
    const { rules, ignored } = systemRules([
      ...parseResolvectlStatus(RESOLVECTL_252_VPN),
      { name: 'lo', servers: ['127.0.0.1'], domains: ['loop.example'] },
    ]);
    assert.deepEqual(
      rules.map((r) => [r.suffix, r.servers.join(','), r.link]),
      [
        ['fritz.box', '192.168.178.1,fd00::3681:c4ff:fe12:3456', 'wlp0s20f3'],
        ['corp.example', '10.8.0.1,10.8.0.2', 'tun0'],
        ['10.in-addr.arpa', '10.8.0.1,10.8.0.2', 'tun0'],
        ['internal.corp.example', '10.8.0.1,10.8.0.2', 'tun0'],
      ],
    );
    assert.deepEqual(ignored, ['com']);
  });

  it('finds the network resolvers for portal mode, default-route links first', () => {
    assert.deepEqual(networkServers(parseResolvectlStatus(RESOLVECTL_252_VPN)), [
      '192.168.178.1',
      'fd00::3681:c4ff:fe12:3456',
      '10.64.0.1',
      '10.8.0.1',
      '10.8.0.2',
    ]);
    assert.deepEqual(parseResolvConf(RESOLV_CONF_STUB), [], 'a stub resolv.conf points at ourselves');
    assert.deepEqual(parseResolvConf(RESOLV_CONF_DHCP), ['172.20.0.1', 'fe80::1']);
  });

  it('strips ports, SNI names and zone ids from server forms', () => {
    assert.equal(bareServer('10.0.0.1#dns.example'), '10.0.0.1');
    assert.equal(bareServer('10.0.0.1:53'), '10.0.0.1');
    assert.equal(bareServer('[fe80::1%eth0]:53'), 'fe80::1');
    assert.equal(bareServer('fd00::1%3'), 'fd00::1');
    assert.equal(bareServer('not-an-ip'), undefined);
  });

  it('falls back to nmcli when resolvectl fails, and reports the resolved error when both do', async (t) => {
    if (process.platform !== 'linux') t.skip('Linux only');
    const calls: string[] = [];
    const links = await readSystemLinks((file) => {
      calls.push(file);
      return file === 'resolvectl'
        ? Promise.reject(new Error('resolved not running'))
        : Promise.resolve(NMCLI_TERSE_VPN);
    });
    assert.deepEqual(calls, ['resolvectl', 'nmcli']);
    assert.equal(links[1]?.name, 'tun0');
    await assert.rejects(
      readSystemLinks(() => Promise.reject(new Error('resolved not running'))),
      /resolved not running/,
    );
  });
});

describe('parseDuration', () => {
  it('reads s, m, h and bare seconds within 1 s to 60 min', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('45'), 45_000);
    assert.throws(() => parseDuration('2h'), /--for: "2h" is not a duration from 1s to 60m/);
    assert.throws(() => parseDuration('soon'), /ERR_DOTSTUB_CONFIG|not a duration/);
    assert.throws(() => parseDuration('0s'), /not a duration/);
  });
});
