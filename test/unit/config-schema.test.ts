import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkConfig } from '../../src/config/check-config.js';
import { buildDaemonConfig } from '../../src/config/daemon-config.js';
import { FILE_DEFAULTS } from '../../src/config/file-defaults.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { getAt, parseKeyPath, setAt, unsetAt } from '../../src/config/key-path.js';
import { configSource, loadConfig } from '../../src/config/load.js';
import { editConfig } from '../../src/config/store.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';

const PIN = 'Ta6rR2Bzr+shUW6ttvlWNNN9Lam0/D8tFF8tmlRH4U8=';
const tmp = (): string => mkdtempSync(join(tmpdir(), 'dotstub-schema-'));

/** [what, file content, the exact message]. */
const INVALID: [string, unknown, string][] = [
  [
    'a pin that is not base64 of 32 bytes',
    {
      upstreams: [
        { address: '9.9.9.9', authName: 'dns.quad9.net' },
        { address: '1.1.1.1', pins: ['pin-sha256="abc"'] },
      ],
    },
    'upstreams[1].pins[0]: not a pin-sha256 value: "pin-sha256=\\"abc\\"" (expected pin-sha256="<44 base64 chars>", the SHA-256 of the server\'s SPKI; the README shows how to read it from a server)',
  ],
  [
    'a 33-byte pin',
    { upstreams: [{ address: '1.1.1.1', pins: [Buffer.alloc(33).toString('base64')] }] },
    'upstreams[0].pins[0]: not a pin-sha256 value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" (expected pin-sha256="<44 base64 chars>", the SHA-256 of the server\'s SPKI; the README shows how to read it from a server)',
  ],
  [
    'a host name as listen address',
    { listen: ['localhost@53'] },
    'listen[0]: "localhost@53" is not an IP address (expected, for example, 127.0.0.1@53 or [::1]:53)',
  ],
  [
    'a port out of range',
    { upstreams: [{ address: '9.9.9.9', port: 70000 }] },
    'upstreams[0].port: 70000 is not a whole number from 1 to 65535',
  ],
  [
    'an unknown key',
    { timout: 5 },
    'timout: unknown key (accepted here: listen, upstreams, profile, fallback, selection, timeout, idleTimeout, connectTimeout, paddingBlockSize, limitOutstandingQueries, backoff, connectionRetries, tlsMinVersion, caFile, ecsPrivate, logLevel, listenTls, tls, cache, domains, followSystemDomains, watchNetwork, portal, $schema)',
  ],
  [
    'an unknown upstream key',
    { upstreams: [{ address: '9.9.9.9', name: 'x' }] },
    'upstreams[0].name: unknown key (accepted here: address, port, authName, pins, profile, clearPort)',
  ],
  [
    'a missing address',
    { upstreams: [{ port: 853 }] },
    'upstreams[0].address: missing (expected an upstream such as 9.9.9.9#853~dns.quad9.net)',
  ],
  [
    'a number as upstream',
    { upstreams: [3] },
    'upstreams[0]: 3 is not "IP#PORT~NAME" or {"address", "port", "authName", "pins"}',
  ],
  [
    'a bad authentication name',
    { upstreams: [{ address: '1.1.1.1', authName: 'no spaces.example' }] },
    'upstreams[0].authName: "no spaces.example" is not a host name (expected, for example, dns.quad9.net)',
  ],
  [
    'an empty listen list',
    { listen: [] },
    'listen: expected at least one listen address, such as "127.0.0.1@53" (leave the key out for the defaults)',
  ],
  ['an unknown selection', { selection: 'random' }, 'selection: "random" is not one of round-robin, ordered'],
  ['a timeout too short', { timeout: 5 }, 'timeout: 5 is not a whole number from 100 to 60000 ms'],
  [
    'a fractional idle timeout',
    { idleTimeout: 1.5 },
    'idleTimeout: 1.5 is not a whole number from 0 to 600000 ms',
  ],
  ['TLS 1.1', { tlsMinVersion: 'TLS1.1' }, 'tlsMinVersion: "TLS1.1" is not one of TLS1.2, TLS1.3'],
  ['a string for a boolean', { ecsPrivate: 'yes' }, 'ecsPrivate: "yes" is not true or false'],
  [
    'a negative backoff',
    { backoff: { initial: -1 } },
    'backoff.initial: -1 is not a whole number from 1 to 3600000 ms',
  ],
  [
    'a list that is a string',
    { listen: '127.0.0.1' },
    'listen: "127.0.0.1" is not a list of listen addresses',
  ],
  ['an unknown log level', { logLevel: 'trace' }, 'logLevel: "trace" is not one of error, warn, info, debug'],
  ['an array for the file', [], '[] is not a JSON object'],
];

/** Refused after the schema: rules across keys (RFC 8310 sec. 6.6, loops). */
const REFUSED: [string, unknown, RegExp][] = [
  [
    'a Strict upstream with neither pins nor name',
    { upstreams: ['192.0.2.1#853'] },
    /^ConfigError: upstreams\[0\]: 192\.0\.2\.1 has neither an authentication name nor a pin, so the Strict profile cannot authenticate it/,
  ],
  [
    'an upstream that is a listen address',
    { listen: ['127.0.0.1@8853'], upstreams: ['127.0.0.1#8853~dot.test'] },
    /^ConfigError: upstreams\[0\]: 127\.0\.0\.1 port 8853 is one of dotstub's own listen addresses: forwarding to it would loop$/,
  ],
  [
    'fallback servers in the Strict profile',
    { fallback: ['192.0.2.53'] },
    /^ConfigError: fallback: clear-text fallback servers are only used in the Opportunistic profile/,
  ],
  ['an empty upstream list', { upstreams: [] }, /^ConfigError: upstreams: no upstream configured/],
];

describe('configuration schema', () => {
  it('makes of an empty file exactly the defaults a daemon without a file starts on (file-defaults.ts)', () => {
    assert.deepEqual(validateConfig({}), FILE_DEFAULTS);
  });

  it('accepts the "$schema" key editors use to find docs/config.schema.json, and nothing else changes', () => {
    assert.deepEqual(validateConfig({ $schema: './config.schema.json' }), {
      ...FILE_DEFAULTS,
      $schema: './config.schema.json',
    });
    assert.throws(() => validateConfig({ $schema: 7 }), /\$schema/);
  });

  for (const [what, value, message] of INVALID) {
    it(`refuses ${what}: ${message.slice(0, 60)}`, () => {
      assert.throws(
        () => validateConfig(value),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.message, message);
          return true;
        },
      );
    });
  }

  for (const [what, value, message] of REFUSED) {
    it(`refuses ${what}`, () => {
      assert.throws(() => checkConfig(value), message);
    });
  }

  it('lists every problem, not only the first', () => {
    assert.throws(
      () => validateConfig({ timeout: 1, selection: 'x' }),
      (err: unknown) => {
        const lines = (err as Error).message.split('\n').sort();
        assert.deepEqual(lines, [
          'selection: "x" is not one of round-robin, ordered',
          'timeout: 1 is not a whole number from 100 to 60000 ms',
        ]);
        return true;
      },
    );
  });

  it('warns about a single pin and an idle timeout providers do not allow', () => {
    const { warnings } = checkConfig({
      upstreams: [{ address: '192.0.2.1', pins: [PIN] }],
      idleTimeout: 120_000,
    });
    assert.deepEqual(
      warnings.map((w) => w.split(':')[0]),
      ['upstreams[0]', 'idleTimeout'],
    );
    assert.match(warnings[0] ?? '', /add a backup pin/);
    assert.match(warnings[1] ?? '', /120000 ms is longer than providers keep an idle connection open/);
  });

  it('maps every key onto the daemon options', () => {
    const { daemon } = checkConfig({
      upstreams: ['192.0.2.1#853~dot.test'],
      connectTimeout: 1500,
      backoff: { initial: 500, max: 30_000 },
      connectionRetries: 4,
      tlsMinVersion: 'TLS1.3',
      ecsPrivate: false,
      limitOutstandingQueries: 10,
    });
    assert.equal(daemon.connectTimeoutMs, 1500);
    assert.deepEqual(daemon.backoff, { baseMs: 500, capMs: 30_000, jitter: 0.2, softFailures: 4 });
    assert.equal(daemon.minTlsVersion, 'TLSv1.3');
    assert.equal(daemon.ecsPrivate, false);
    assert.equal(daemon.maxOutstanding, 10);
    const defaults = checkConfig({}).daemon;
    assert.equal(defaults.ecsPrivate, true, 'ECS privacy is on by default');
    assert.equal(defaults.minTlsVersion, 'TLSv1.2');
  });

  it('docs/config.schema.json is the schema the code generates (run `dotstub config schema` to refresh it)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../../docs/config.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    assert.deepEqual(committed, configJsonSchema());
  });
});

describe('configuration files', () => {
  it('precedence: --config, then $DOTSTUB_CONFIG, then the scope file; a missing implicit file means the defaults', async () => {
    const dir = tmp();
    assert.deepEqual(configSource('/x.json', '/d.json'), { path: '/x.json', explicit: true });
    const saved = process.env.DOTSTUB_CONFIG;
    try {
      process.env.DOTSTUB_CONFIG = '/env.json';
      assert.deepEqual(configSource(undefined, '/d.json'), { path: '/env.json', explicit: true });
      delete process.env.DOTSTUB_CONFIG;
      assert.deepEqual(configSource(undefined, '/d.json'), { path: '/d.json', explicit: false });
    } finally {
      if (saved !== undefined) process.env.DOTSTUB_CONFIG = saved;
    }
    const missing = join(dir, 'none.json');
    assert.equal((await loadConfig({ path: missing, explicit: false })).path, undefined);
    await assert.rejects(
      () => loadConfig({ path: missing, explicit: true }),
      /cannot read config file .*none\.json: .*ENOENT/,
    );
    assert.equal((await buildDaemonConfig({}, missing)).configPath, undefined);
  });

  it('a corrupt file is refused by the daemon and by `config set`, and left byte for byte', async () => {
    const path = join(tmp(), 'config.json');
    const corrupt = '{"upstreams": [ "9.9.9.9#853~dns.quad9.net",\n';
    writeFileSync(path, corrupt, { mode: 0o600 });
    await assert.rejects(
      () => buildDaemonConfig({}, path),
      /^ConfigError: config file .*config\.json is not valid JSON: .*the file was left as it is/,
    );
    assert.throws(
      () => editConfig({ path, explicit: true }, (c) => ({ ...c, timeout: 2000 })),
      /is not valid JSON/,
    );
    assert.equal(readFileSync(path, 'utf8'), corrupt);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('config set validates the whole result before writing: a bad value leaves the file as it was', () => {
    const path = join(tmp(), 'sub', 'config.json');
    editConfig({ path, explicit: true }, (c) => setAt(c, parseKeyPath('timeout'), 2000));
    const first = readFileSync(path, 'utf8');
    assert.deepEqual(JSON.parse(first), { timeout: 2000 });
    assert.throws(
      () => editConfig({ path, explicit: true }, (c) => setAt(c, parseKeyPath('upstreams[0].pins[0]'), 'x')),
      /^ConfigError: upstreams\[0\]\.address: missing/,
    );
    assert.equal(readFileSync(path, 'utf8'), first);
    assert.equal(statSync(path).mode & 0o077, 0o044, 'readable by the service account, not world-writable');
    editConfig({ path, explicit: true }, (c) =>
      setAt(c, parseKeyPath('upstreams'), [{ address: '192.0.2.1', authName: 'dot.test', pins: [PIN, PIN] }]),
    );
    editConfig({ path, explicit: true }, (c) => unsetAt(c, parseKeyPath('upstreams[0].pins[1]')));
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
      timeout: 2000,
      upstreams: [{ address: '192.0.2.1', authName: 'dot.test', pins: [PIN] }],
    });
  });

  it('key paths: dotted and indexed', () => {
    assert.deepEqual(parseKeyPath('upstreams[1].pins[0]'), ['upstreams', 1, 'pins', 0]);
    assert.deepEqual(parseKeyPath('backoff.max'), ['backoff', 'max']);
    assert.throws(() => parseKeyPath('[0]'), /is not a key path/);
    assert.throws(() => parseKeyPath('a..b'), /is not a key path/);
    const root = { upstreams: [{ pins: ['a'] }] };
    assert.equal(getAt(root, parseKeyPath('upstreams[0].pins[0]')), 'a');
    assert.equal(getAt(root, parseKeyPath('upstreams[3].pins')), undefined);
    assert.throws(() => setAt(root, parseKeyPath('upstreams[5]'), 'x'), /past the end of the list/);
    assert.deepEqual(setAt({}, parseKeyPath('backoff.max'), 5), { backoff: { max: 5 } });
    assert.deepEqual(root, { upstreams: [{ pins: ['a'] }] }, 'edits copy');
  });
});
