// The `cache` keys of the configuration file: defaults, accepted values, and errors naming the key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_CACHE_CONFIG } from '../../src/cache/cache-options.js';
import { buildDaemonConfig } from '../../src/config/daemon-config.js';

const dir = mkdtempSync(join(tmpdir(), 'dotstub-cache-config-'));
function withFile(cache: unknown) {
  const path = join(dir, `c${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ cache }));
  return buildDaemonConfig({ config: path });
}

describe('cache configuration', () => {
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is on by default: 16 MiB, one day at most, no serve-stale', async () => {
    assert.deepEqual((await buildDaemonConfig({})).cache, DEFAULT_CACHE_CONFIG);
    assert.equal(DEFAULT_CACHE_CONFIG.enabled, true);
    assert.equal(DEFAULT_CACHE_CONFIG.maxBytes, 16 * 1024 * 1024);
    assert.equal(DEFAULT_CACHE_CONFIG.maxTtl, 86_400);
    assert.equal(DEFAULT_CACHE_CONFIG.serveStale, false);
  });

  it('takes every key from the file', async () => {
    const cache = {
      enabled: false,
      maxEntries: 10,
      maxBytes: 4096,
      maxTtl: 600,
      minTtl: 30,
      prefetch: false,
      serveStale: true,
      maxStaleAge: 3600,
    };
    assert.deepEqual((await withFile(cache)).cache, cache);
  });

  const bad: [unknown, RegExp][] = [
    [{ maxTtl: -1 }, /cache\.maxTtl.*whole number from 0/],
    [{ serveStale: 'yes' }, /cache\.serveStale.*true or false/],
    [{ maxBytes: 1.5 }, /cache\.maxBytes/],
    [{ minTtl: 600, maxTtl: 60 }, /cache\.minTtl.*above cache\.maxTtl/],
    [{ maxAge: 5 }, /cache\.maxAge.*unknown key/],
    [true, /cache.*expected an object/],
  ];
  for (const [value, message] of bad) {
    it(`refuses ${JSON.stringify(value)}, naming the key`, async () => {
      await assert.rejects(() => withFile(value), message);
    });
  }
});
