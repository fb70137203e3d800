import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartOnlyChanges } from '../../src/cli/run-reload.js';
import { checkConfig } from '../../src/config/check-config.js';

const daemon = (raw: unknown): ReturnType<typeof checkConfig>['daemon'] => checkConfig(raw).daemon;
const upstreams = ['192.0.2.1#853~dns.example'];

describe('reload warnings', () => {
  it('says nothing when only reloadable settings change', () => {
    assert.deepEqual(
      restartOnlyChanges(daemon({ upstreams, timeout: 5000 }), daemon({ upstreams, timeout: 3000 })),
      [],
    );
  });
  it('names the cache and split DNS settings a reload does not apply', () => {
    const warnings = restartOnlyChanges(
      daemon({ upstreams }),
      daemon({
        upstreams,
        cache: { maxEntries: 10 },
        domains: [{ suffix: 'lan', servers: ['192.0.2.53'], clear: true }],
      }),
    );
    assert.deepEqual(warnings, [
      'cache changed: it takes effect at the next start (restart the daemon)',
      'domains/followSystemDomains/watchNetwork/portal changed: it takes effect at the next start (restart the daemon)',
    ]);
  });
});
