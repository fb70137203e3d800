// The TLS upstream reads decrypted bytes into one buffer per connection (tls-connect.ts): every answer
// handed out must be its own bytes, still intact after later reads have reused that buffer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../src/dns/wire.js';
import { TlsUpstream } from '../../src/upstream/tls-upstream.js';
import type { UpstreamAnswer } from '../../src/upstream/upstream.js';
import { systemClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { getTestPki } from '../helpers/test-certs.js';

const logger = createLogger({ level: 'error', write: () => undefined });

describe('TLS upstream reads', () => {
  it('hands out answers that stay intact while later reads reuse the read buffer', async () => {
    // Answers of many sizes (some spanning TLS records), sent out of order over one connection.
    const up = await startFakeUpstream({
      onQuery: (q) => {
        const n = Number(q.name.split('.')[0]?.slice(1));
        return { delayMs: (n * 7) % 23, ...(n % 3 === 0 ? { bigTxtBytes: 300 + ((n * 97) % 6000) } : {}) };
      },
    });
    const upstream = new TlsUpstream({
      spec: { address: '127.0.0.1', port: up.port, pins: [], authName: 'dot.test' },
      extraCa: [getTestPki().ca.cert],
      connectTimeoutMs: 2000,
      idleTimeoutMs: 10_000,
      stallTimeoutMs: 5000,
      maxConnections: 1,
      maxInFlightPerConnection: 500,
      padBlock: 128,
      clock: systemClock,
      logger,
    });
    try {
      const names = Array.from({ length: 300 }, (_, n) => `q${n}.reads.example`);
      const answers: UpstreamAnswer[] = await Promise.all(
        names.map((name) => {
          const query = buildQuery(name, n3(name) ? 'TXT' : 'A');
          return upstream.exchange(query, parseMessage(query), { signal: AbortSignal.timeout(5000) });
        }),
      );
      // Only now, after every read, look at the bytes each answer holds.
      answers.forEach((answer, n) => {
        const parsed = parseAnswer(answer.answer);
        assert.equal(parsed.questions?.[0]?.name, names[n]);
        assert.equal(parsed.rcode, 'NOERROR');
        assert.equal(answer.msg.question?.key.split('/')[0], `${names[n] ?? ''}.`);
      });
      assert.equal(up.connections, 1);
    } finally {
      upstream.destroy();
      await up.close();
    }
  });
});

/** Every third name asks for TXT (answered big). */
function n3(name: string): boolean {
  return Number(name.split('.')[0]?.slice(1)) % 3 === 0;
}
