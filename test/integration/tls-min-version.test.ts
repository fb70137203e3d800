// tlsMinVersion reaches the TLS handshake: an upstream that stops at TLS 1.2 is refused when the
// configuration asks for 1.3, and used otherwise.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildQuery, parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';

describe('tlsMinVersion', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startFakeUpstream({ maxVersion: 'TLSv1.2' });
  });
  after(async () => {
    await upstream.close();
  });

  for (const [min, rcode] of [
    ['TLSv1.2', 'NOERROR'],
    ['TLSv1.3', 'SERVFAIL'],
  ] as const) {
    it(`${min} against a TLS 1.2 server: ${rcode}`, async () => {
      const stack = await startStack({
        upstreams: [spec(upstream.port)],
        minTlsVersion: min,
        timeoutMs: 1500,
      });
      try {
        const answer = parseAnswer(
          await udpQuery(stack.port, buildQuery('v.example', 'A'), { timeoutMs: 4000 }),
        );
        assert.equal(answer.rcode, rcode);
        if (rcode === 'SERVFAIL') assert.match(stack.log.join('\n'), /TLS|protocol|version/i);
      } finally {
        await stack.close();
      }
    });
  }
});
