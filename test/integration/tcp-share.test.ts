// Many pipelining TCP clients share the listener's 256 queries in flight (8 each at least): none is
// refused or dropped, and they cannot fill the resolver's outstanding limit (dnsperf -m tcp -c 32 -q 4000
// had queued 3,000+, answered after dnsperf gave up).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { tcpPipeline } from '../helpers/load.js';
import { spec, startStack } from '../helpers/stack.js';

describe('TCP clients share the in-flight budget', () => {
  it('32 clients pipelining 100 queries each: all answered, at most 256 + 8 each in the resolver at once', async () => {
    // Slow answers keep every query in flight long enough for all 32 clients to push theirs at once.
    const up = await startFakeUpstream({ onQuery: () => ({ delayMs: 150 }) });
    const stack = await startStack({ upstreams: [spec(up.port)], maxOutstanding: 4096, timeoutMs: 10_000 });
    try {
      const clients = Array.from({ length: 32 }, (_, c) =>
        tcpPipeline(
          stack.port,
          Array.from({ length: 100 }, (_, i) => buildQuery(`c${c}-q${i}.share.example`, 'A')),
          30_000,
        ),
      );
      const answers = (await Promise.all(clients)).flat();
      assert.equal(answers.length, 3200);
      assert.ok(answers.every((a) => parseAnswer(a).rcode === 'NOERROR'));
      // 256 for the listener, plus the 8 each client may always have: 512 for 32 clients.
      const peak = stack.daemon.resolver.counters.outstandingPeak;
      assert.ok(peak <= 256 + 8 * 32, `${peak} queries were in the resolver at once`);
      assert.ok(peak >= 128, `${peak}: the clients did pipeline`);
    } finally {
      await stack.close();
      await up.close();
    }
  });
});
