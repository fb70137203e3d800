import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkConfig } from '../../src/config/check-config.js';
import { importStubby } from '../../src/config/stubby-import.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../test/fixtures/stubby/${name}`, import.meta.url), 'utf8');

describe('import-stubby', () => {
  it("maps stubby's own example configuration (as Debian packages it) and the result validates", () => {
    const { config, notes } = importStubby(fixture('stubby-debian.yml'), 'stubby.yml');
    assert.deepEqual(Object.keys(config).sort(), [
      'ecsPrivate',
      'idleTimeout',
      'listen',
      'paddingBlockSize',
      'profile',
      'selection',
      'upstreams',
    ]);
    assert.deepEqual(config.listen, ['127.0.0.1', '0::1']);
    assert.equal(config.profile, 'strict');
    assert.equal(config.ecsPrivate, true);
    assert.equal(config.selection, 'round-robin');
    assert.equal(config.idleTimeout, 10000);
    assert.equal(config.paddingBlockSize, 128);
    assert.deepEqual((config.upstreams as unknown[])[0], {
      address: '145.100.185.15',
      authName: 'dnsovertls.sinodun.com',
      pins: ['62lKu9HsDVbyiPenApnc4sfmSYTHOVfFgL3pyB+cBL4='],
    });
    assert.equal((config.upstreams as unknown[]).length, 6);
    assert.deepEqual(notes, [
      'resolution_type: not taken: dotstub is always a stub resolver (GETDNS_RESOLUTION_STUB)',
    ]);
    const check = checkConfig(config);
    assert.deepEqual(
      check.daemon.listen.map((l) => `${l.host}@${l.port}`),
      ['127.0.0.1@53', '0::1@53'],
    );
    assert.equal(check.warnings.filter((w) => w.includes('only one pin')).length, 6);
  });

  it('maps every option it knows and lists the others with the reason', () => {
    const { config, notes } = importStubby(fixture('stubby-all-options.yml'), 'all.yml');
    assert.deepEqual(config, {
      listen: ['127.0.0.1@5353', '0::1@5353'],
      profile: 'strict',
      idleTimeout: 9000,
      timeout: 2500,
      paddingBlockSize: 128,
      ecsPrivate: false,
      selection: 'ordered',
      limitOutstandingQueries: 64,
      connectionRetries: 3,
      backoff: { max: 300_000 },
      tlsMinVersion: 'TLS1.3',
      caFile: '/etc/ssl/certs/extra-ca.pem',
      upstreams: [
        {
          address: '192.0.2.10',
          port: 8853,
          clearPort: 5300,
          authName: 'dns.example.net',
          pins: [
            'Ta6rR2Bzr+shUW6ttvlWNNN9Lam0/D8tFF8tmlRH4U8=',
            'cE2ecALeE5B+urJhDrJlVFmf38cJLAvqekONvjvpqUA=',
          ],
        },
        { address: '2001:db8::53', authName: 'dns6.example.net' },
      ],
    });
    assert.deepEqual(
      notes.map((n) => n.split(':')[0]),
      [
        'upstream_recursive_servers[0].tls_cipher_list',
        'resolution_type',
        'tls_max_version',
        'tls_cipher_list',
        'appdata_dir',
        'dnssec',
      ],
    );
    assert.match(notes.join('\n'), /dnssec: not taken: dotstub does not validate DNSSEC itself/);
    const { daemon } = checkConfig(config);
    assert.equal(daemon.minTlsVersion, 'TLSv1.3');
    assert.deepEqual(daemon.backoff, { baseMs: 1000, capMs: 300_000, jitter: 0.2, softFailures: 3 });
    assert.equal(daemon.ecsPrivate, false);
    assert.equal(daemon.upstreams[0]?.clearPort, 5300);
  });

  it('clear transports in dns_transport_list mean the Opportunistic profile, and say so', () => {
    const { config, notes } = importStubby(
      'dns_transport_list: [GETDNS_TRANSPORT_TLS, GETDNS_TRANSPORT_UDP]\ntls_authentication: GETDNS_AUTHENTICATION_REQUIRED\n',
      'x.yml',
    );
    assert.equal(config.profile, 'opportunistic');
    assert.match(notes[0] ?? '', /clear DNS to port 53 only when TLS cannot be set up/);
    assert.equal(
      importStubby('tls_authentication: GETDNS_AUTHENTICATION_NONE\n', 'x.yml').config.profile,
      'opportunistic',
    );
  });

  const refused: [string, string, RegExp][] = [
    [
      'a duplicate key',
      'idle_timeout: 1\nidle_timeout: 2\n',
      /^ConfigError: d\.yml:2:1: a key appears twice/,
    ],
    [
      'a YAML bomb',
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
      /^ConfigError: d\.yml: .*aliases are limited to 100 expansions/,
    ],
    ['not a mapping', '- a\n- b\n', /a stubby configuration is a YAML mapping/],
    [
      'a pin digest other than sha256',
      'upstream_recursive_servers:\n  - address_data: 192.0.2.1\n    tls_pubkey_pinset:\n      - digest: sha1\n        value: x\n',
      /^ConfigError: upstream_recursive_servers\[0\]\.tls_pubkey_pinset\[0\]\.digest: "sha1" is not supported \(only sha256/,
    ],
    [
      'a transport list without TLS',
      'dns_transport_list: [GETDNS_TRANSPORT_UDP]\n',
      /dns_transport_list: without GETDNS_TRANSPORT_TLS/,
    ],
    ['TLS 1.1', 'tls_min_version: GETDNS_TLS1_1\n', /tls_min_version: "GETDNS_TLS1_1" is not GETDNS_TLS1_2/],
    [
      'a string for a number',
      'idle_timeout: soon\n',
      /^ConfigError: idle_timeout: "soon" is not a whole number/,
    ],
  ];
  for (const [what, yaml, message] of refused) {
    it(`refuses ${what} with a clear error`, () => {
      assert.throws(() => importStubby(yaml, 'd.yml'), message);
    });
  }
});
