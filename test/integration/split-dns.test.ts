// Split DNS through the real daemon: names under a configured suffix reach only that rule's servers
// (DoT with its own authentication, or clear where configured), and private reverse zones and .local
// never reach the public upstream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildQuery, parseAnswer, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakePlain, type FakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';
import { parseResolvectlStatus } from '../../src/desktop/system-domains.js';
import { RESOLVECTL_252_VPN } from '../fixtures/system-dns-output.js';

describe('split DNS', () => {
  let publicDot: FakeUpstream;
  let corpDot: FakeUpstream;
  let router: FakePlain;
  let stack: Stack;

  before(async () => {
    publicDot = await startFakeUpstream();
    corpDot = await startFakeUpstream();
    router = await startFakePlain();
    stack = await startStack({
      upstreams: [spec(publicDot.port)],
      desktop: {
        domains: [
          {
            suffixes: ['corp.example'],
            servers: [{ ...spec(corpDot.port), profile: 'strict' }],
            clear: false,
          },
          {
            suffixes: ['fritz.box', 'lan', '168.192.in-addr.arpa'],
            servers: [{ address: '127.0.0.1', port: router.port, pins: [] }],
            clear: true,
          },
        ],
        watchNetwork: false,
      },
    });
  });

  after(async () => {
    await stack.close();
    await Promise.all([publicDot.close(), corpDot.close(), router.close()]);
  });

  const ask = async (name: string, type = 'A') =>
    parseAnswer(await udpQuery(stack.port, buildQuery(name, type, { edns: true })));

  it('sends names under a suffix to that rule only, longest suffix first, any case', async () => {
    assert.equal((await ask('Intranet.CORP.example')).rcode, 'NOERROR');
    assert.equal((await ask('nas.lan.')).rcode, 'NOERROR');
    assert.equal((await ask('fritz.box')).rcode, 'NOERROR');
    assert.equal((await ask('7.178.168.192.in-addr.arpa', 'PTR')).rcode, 'NOERROR');
    assert.equal((await ask('example.org')).rcode, 'NOERROR');
    assert.deepEqual(
      corpDot.queries.map((q) => q.name.toLowerCase()),
      ['intranet.corp.example'],
    );
    assert.equal(
      corpDot.connectionLog[0]?.servername,
      'dot.test',
      'the rule server is authenticated by its own name',
    );
    assert.deepEqual(
      router.queries.map((q) => q.name),
      ['nas.lan', 'fritz.box', '7.178.168.192.in-addr.arpa'],
    );
    assert.deepEqual(
      publicDot.queries.map((q) => q.name),
      ['example.org'],
    );
  });

  it('answers private reverse zones and .local itself, and the public upstream sees none of them', async () => {
    const before = publicDot.queries.length + router.queries.length + corpDot.queries.length;
    const names = [
      ['4.3.2.10.in-addr.arpa', '10.in-addr.arpa'],
      ['1.1.20.172.in-addr.arpa', '20.172.in-addr.arpa'],
      ['9.8.254.169.in-addr.arpa', '254.169.in-addr.arpa'],
      ['1.0.0.127.in-addr.arpa', '127.in-addr.arpa'],
      [`${'0.'.repeat(28)}0.0.d.f.ip6.arpa`, 'd.f.ip6.arpa'],
      ['b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa', '8.e.f.ip6.arpa'],
      ['printer.local', 'local'],
    ] as const;
    for (const [name, zone] of names) {
      const answer = await ask(name, name.endsWith('arpa') ? 'PTR' : 'A');
      assert.equal(answer.rcode, 'NXDOMAIN', name);
      assert.equal(answer.aa, true, name);
      assert.equal(answer.authorities?.[0]?.type, 'SOA', name);
      assert.equal(answer.authorities[0].name, zone, name);
    }
    assert.equal(publicDot.queries.length + router.queries.length + corpDot.queries.length, before);
    assert.equal(
      publicDot.queries.filter((q) => q.name.endsWith('.arpa') || q.name.endsWith('.local')).length,
      0,
      'the public upstream saw no private name',
    );
    assert.equal(stack.daemon.resolver.counters.local, names.length);
  });

  it('answers localhost names with the loopback address itself (RFC 6761 sec. 6.3), over UDP and TCP', async () => {
    const before = publicDot.queries.length + router.queries.length + corpDot.queries.length;
    const local = stack.daemon.resolver.counters.local;
    const a = await ask('localhost', 'A');
    assert.equal(a.rcode, 'NOERROR');
    assert.equal((a.answers?.[0] as { data?: unknown } | undefined)?.data, '127.0.0.1');
    const [viaTcp] = await tcpQuery(stack.port, [buildQuery('app.localhost', 'AAAA')], { timeoutMs: 3000 });
    assert.ok(viaTcp !== undefined, 'an answer over TCP');
    const aaaa = parseAnswer(viaTcp);
    assert.equal((aaaa.answers?.[0] as { data?: unknown } | undefined)?.data, '::1');
    assert.equal((await ask('app.localhost', 'TXT')).answers?.length, 0, 'NODATA for other types');
    assert.equal(publicDot.queries.length + router.queries.length + corpDot.queries.length, before);
    assert.equal(stack.daemon.resolver.counters.local, local + 3);
  });

  it('lists the rules in status', () => {
    const split = stack.daemon.desktop.status().split;
    assert.deepEqual(
      split.map((r) => [r.suffixes.join(','), r.clear, r.source]),
      [
        ['corp.example', false, 'config'],
        ['fritz.box,lan,168.192.in-addr.arpa', true, 'config'],
      ],
    );
  });
});

describe('followSystemDomains', () => {
  it('routes the per-link domains resolved knows to that link in clear, config rules first, and refreshes on a change', async () => {
    const corpDot = await startFakeUpstream();
    const publicDot = await startFakeUpstream();
    let vpnUp = true;
    const stack = await startStack({
      upstreams: [spec(publicDot.port)],
      desktop: {
        watchNetwork: false,
        followSystemDomains: true,
        reprobe: false,
        domains: [{ suffixes: ['corp.example'], servers: [spec(corpDot.port)], clear: false }],
        systemLinks: () =>
          Promise.resolve(
            parseResolvectlStatus(RESOLVECTL_252_VPN).filter((l) => vpnUp || l.name !== 'tun0'),
          ),
      },
    });
    try {
      const { desktop } = stack.daemon;
      const ids = (name: string): string[] | string | undefined => {
        const r = desktop.route(name);
        return r?.kind === 'upstreams' ? r.upstreams.map((u) => u.id) : r?.kind;
      };
      assert.deepEqual(ids('db.internal.corp.example'), ['10.8.0.1#53 (clear)', '10.8.0.2#53 (clear)']);
      assert.deepEqual(
        ids('5.4.3.10.in-addr.arpa'),
        ['10.8.0.1#53 (clear)', '10.8.0.2#53 (clear)'],
        'the VPN routes its reverse zone',
      );
      assert.deepEqual(
        ids('www.corp.example'),
        [`127.0.0.1#${corpDot.port}~dot.test`],
        'the configured rule wins',
      );
      assert.deepEqual(ids('nas.fritz.box'), [
        '192.168.178.1#53 (clear)',
        '[fd00::3681:c4ff:fe12:3456]#53 (clear)',
      ]);
      assert.equal(ids('www.example.com'), undefined, 'a network pushing "com" is ignored');
      assert.deepEqual(desktop.status().systemDomains.ignored, ['com']);

      vpnUp = false;
      await desktop.networkChanged('manual');
      assert.deepEqual(
        ids('db.internal.corp.example'),
        ids('www.corp.example'),
        'VPN gone: back to the configured rule',
      );
      assert.equal(ids('5.4.3.10.in-addr.arpa'), 'local');
      assert.deepEqual(
        desktop
          .status()
          .split.filter((r) => r.source === 'system')
          .map((r) => r.suffixes[0]),
        ['fritz.box'],
      );
    } finally {
      await stack.close();
      await Promise.all([corpDot.close(), publicDot.close()]);
    }
  });
});
