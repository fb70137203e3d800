import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseListenAddress, parseUpstreamAddress } from '../../src/config/addresses.js';
import { buildDaemonConfig } from '../../src/config/daemon-config.js';
import { DEFAULT_UPSTREAMS } from '../../src/config/defaults.js';
import { ConfigError } from '../../src/errors.js';

const PIN = 'Ta6rR2Bzr+shUW6ttvlWNNN9Lam0/D8tFF8tmlRH4U8=';

describe('listen addresses', () => {
  const cases: [string, string, number][] = [
    ['127.0.0.1', '127.0.0.1', 53],
    ['127.0.0.1@5353', '127.0.0.1', 5353],
    ['127.0.0.1:5353', '127.0.0.1', 5353],
    ['0::1@5453', '0::1', 5453],
    ['::1', '::1', 53],
    ['[::1]:5353', '::1', 5353],
    ['::1@5353', '::1', 5353],
  ];
  for (const [input, host, port] of cases) {
    it(`parses ${input}`, () => {
      assert.deepEqual(parseListenAddress(input), { host, port });
    });
  }
  it('rejects a name with the accepted forms in the message', () => {
    assert.throws(
      () => parseListenAddress('localhost@53', '--listen[0]'),
      /^ConfigError: --listen\[0\]: "localhost@53" is not an IP address \(expected, for example, 127.0.0.1@53 or \[::1\]:53\)$/,
    );
    assert.throws(() => parseListenAddress('127.0.0.1@99999'), /bad port "99999"/);
  });
});

describe('upstream addresses', () => {
  const cases: [string, object][] = [
    ['9.9.9.9', { address: '9.9.9.9', port: 853 }],
    ['9.9.9.9#8853', { address: '9.9.9.9', port: 8853 }],
    ['9.9.9.9#853~dns.quad9.net', { address: '9.9.9.9', port: 853, authName: 'dns.quad9.net' }],
    ['@1.1.1.1~cloudflare-dns.com', { address: '1.1.1.1', port: 853, authName: 'cloudflare-dns.com' }],
    ['2620:fe::fe#853~dns.quad9.net', { address: '2620:fe::fe', port: 853, authName: 'dns.quad9.net' }],
    ['[2606:4700:4700::1111]:853', { address: '2606:4700:4700::1111', port: 853 }],
    ['127.0.0.1:8853', { address: '127.0.0.1', port: 8853 }],
  ];
  for (const [input, expected] of cases) {
    it(`parses ${input}`, () => {
      assert.deepEqual(parseUpstreamAddress(input), expected);
    });
  }
  it('rejects a host name (dotstub needs IPs: no bootstrap lookups)', () => {
    assert.throws(() => parseUpstreamAddress('dns.quad9.net'), ConfigError);
  });
  it("rejects port 0 for a server (only a listen address may ask for 'any port')", () => {
    assert.throws(() => parseUpstreamAddress('9.9.9.9#0~dns.quad9.net'), /bad port "0" .*expected 1-65535/);
    assert.throws(() => parseUpstreamAddress('9.9.9.9@0#853'), /bad port "0" .*expected 1-65535/);
    assert.equal(parseListenAddress('127.0.0.1@0').port, 0);
  });
});

describe('buildDaemonConfig', () => {
  it('uses the embedded defaults: loopback port 53 and the public resolvers by name', async () => {
    const config = await buildDaemonConfig({});
    assert.deepEqual(
      config.listen.map((l) => `${l.host}@${l.port}`),
      ['127.0.0.1@53', '::1@53'],
    );
    assert.deepEqual(
      config.upstreams,
      DEFAULT_UPSTREAMS.map((u) => ({ ...u, profile: 'strict' })),
    );
    assert.ok(config.upstreams.every((u) => u.authName !== undefined));
  });

  it('applies -K pins to every --upstream and warns about a single pin', async () => {
    const config = await buildDaemonConfig({
      upstream: ['127.0.0.1#8853', '127.0.0.2#8853~dot.test'],
      pin: [`pin-sha256="${PIN}"`],
    });
    assert.deepEqual(
      config.upstreams.map((u) => u.pins),
      [[PIN], [PIN]],
    );
    assert.match(config.warnings.join('\n'), /backup pin/);
  });

  it('refuses a Strict upstream with neither pin nor name, saying how to fix it', async () => {
    await assert.rejects(
      () => buildDaemonConfig({ upstream: ['127.0.0.1#8853'] }),
      /upstreams\[0\]: 127.0.0.1 has neither an authentication name nor a pin.*add ~NAME/,
    );
  });

  it('refuses an upstream that is one of its own listen addresses', async () => {
    await assert.rejects(
      () => buildDaemonConfig({ listen: ['127.0.0.1@8853'], upstream: ['127.0.0.1#8853~dot.test'] }),
      /one of dotstub's own listen addresses: forwarding to it would loop/,
    );
  });

  it('refuses -K without --upstream', async () => {
    await assert.rejects(
      () => buildDaemonConfig({ pin: [`pin-sha256="${PIN}"`] }),
      /--pin: pins given with -K/,
    );
  });

  it('reads a JSON file and names the bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        upstreams: [{ address: '127.0.0.1', port: 8853, pins: [`pin-sha256="${PIN}"`, PIN] }],
        timeout: 2000,
      }),
    );
    const config = await buildDaemonConfig({ config: good });
    assert.equal(config.timeoutMs, 2000);
    assert.equal(config.upstreams[0]?.port, 8853);
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ upstreams: [{ address: '127.0.0.1', pins: ['pin-sha256="nope"'] }] }),
    );
    await assert.rejects(
      () => buildDaemonConfig({ config: bad }),
      /^ConfigError: upstreams\[0\]\.pins\[0\]: not a pin-sha256 value/,
    );
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"upstreams": [');
    await assert.rejects(() => buildDaemonConfig({ config: corrupt }), /corrupt.json is not valid JSON/);
    writeFileSync(bad, JSON.stringify({ selection: 'random' }));
    await assert.rejects(
      () => buildDaemonConfig({ config: bad }),
      /selection: "random" is not one of round-robin, ordered/,
    );
  });
});
