// The desktop config keys: domains (split DNS), followSystemDomains, watchNetwork, portal.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildDaemonConfig } from '../../src/config/daemon-config.js';

function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'dotstub-desktop-')), 'config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const build = (content: unknown) => buildDaemonConfig({ config: configFile(content) });

describe('desktop config keys', () => {
  it('reads split rules for a VPN (DoT with its own name) and a router (clear), and the portal settings', async () => {
    const { desktop } = await build({
      domains: [
        { suffix: 'Corp.Example.', servers: ['10.0.0.53#853~dns.corp.example'] },
        {
          suffix: ['fritz.box', 'lan', '168.192.in-addr.arpa'],
          servers: ['192.168.178.1', '[fd00::1]:5353'],
          clear: true,
        },
      ],
      followSystemDomains: true,
      portal: { servers: ['192.168.178.1'], detect: true, detectInterval: 600_000 },
    });
    assert.ok(desktop?.portal);
    assert.deepEqual(desktop.domains, [
      {
        suffixes: ['corp.example'],
        servers: [
          { address: '10.0.0.53', port: 853, authName: 'dns.corp.example', pins: [], profile: 'strict' },
        ],
        clear: false,
      },
      {
        suffixes: ['fritz.box', 'lan', '168.192.in-addr.arpa'],
        servers: [
          { address: '192.168.178.1', port: 53, pins: [] },
          { address: 'fd00::1', port: 5353, pins: [] },
        ],
        clear: true,
      },
    ]);
    assert.equal(desktop.followSystemDomains, true);
    assert.equal(desktop.watchNetwork, true, 'watching is on by default');
    assert.deepEqual(desktop.portal.servers, [{ address: '192.168.178.1', port: 53, pins: [] }]);
    assert.equal(desktop.portal.detect, true);
    assert.equal(desktop.portal.detectIntervalMs, 600_000);
  });

  it('defaults: no rules, no system domains, no detection', async () => {
    const { desktop } = await build({});
    assert.ok(desktop?.portal);
    assert.deepEqual(desktop.domains, []);
    assert.equal(desktop.followSystemDomains, false);
    assert.equal(desktop.portal.detect, undefined);
  });

  it('names the key path, the bad value and what is accepted', async () => {
    const cases: [unknown, RegExp][] = [
      [{ domains: {} }, /domains: expected a list/],
      [
        { domains: [{ suffix: 'a..b', servers: ['10.0.0.1'], clear: true }] },
        /domains\[0\]\.suffix: "a\.\.b" is not a domain name/,
      ],
      [
        { domains: [{ suffix: ['ok.example', ''], servers: ['10.0.0.1'], clear: true }] },
        /domains\[0\]\.suffix\[1\]: "" is not a domain name/,
      ],
      [
        { domains: [{ suffix: 'corp.example', servers: [] }] },
        /domains\[0\]\.servers: expected a non-empty list/,
      ],
      [
        { domains: [{ suffix: 'corp.example', servers: ['10.0.0.53'] }] },
        /domains\[0\]\.servers\[0\]: 10\.0\.0\.53 has neither an authentication name nor a pin.*"clear": true/,
      ],
      [
        { domains: [{ suffix: 'lan', servers: ['192.168.1.1'], clear: true, profile: 'strict' }] },
        /domains\[0\]\.profile: a rule with "clear": true/,
      ],
      [
        { domains: [{ suffix: 'lan', servers: ['10.0.0.1#853~x'], profile: 'loose' }] },
        /domains\[0\]\.profile: "loose" is not one of strict, opportunistic/,
      ],
      [{ followSystemDomains: 'yes' }, /followSystemDomains: "yes" is not true or false/],
      [{ portal: { probeUrl: 'https://example.net/' } }, /portal\.probeUrl: .* is not an http:\/\/ URL/],
      [{ portal: { servers: '192.168.1.1' } }, /portal\.servers: expected a list/],
      [{ portal: { detectInterval: 5 } }, /portal\.detectInterval: 5 is not a whole number of ms from 10000/],
      // A misspelt key is refused, not ignored (the setting meant would silently not apply).
      [
        { portal: { detct: false } },
        /portal\.detct: unknown key \(accepted here: servers, probeUrl, .*detect/,
      ],
      [
        { domains: [{ suffix: 'lan', server: ['192.168.1.1'], clear: true }] },
        /domains\[0\]\.server: unknown key \(accepted here: suffix, servers, clear, profile\)/,
      ],
      [{ tls: { padingg: 128 } }, /tls\.padingg: unknown key \(accepted here: certs, padding, /],
    ];
    for (const [content, message] of cases)
      await assert.rejects(() => build(content), message, JSON.stringify(content));
  });
});
