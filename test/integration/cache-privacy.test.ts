// Clear-text answers and the cache through the real listeners: an Opportunistic upstream that cannot set
// up TLS answers from port 53 in clear; with a Strict upstream configured too, that answer is never served
// from the cache; with only Opportunistic upstreams it is.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { DEFAULT_CACHE_CONFIG } from '../../src/cache/cache-options.js';
import type { UpstreamSpec } from '../../src/upstream/upstream.js';
import { buildQuery, parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakePlain } from '../helpers/fake-plain.js';
import { startStack } from '../helpers/stack.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
  return port;
}

const upstream = (port: number, profile: 'strict' | 'opportunistic', clearPort: number): UpstreamSpec => ({
  address: '127.0.0.1',
  port,
  authName: 'dot.test',
  pins: [],
  profile,
  clearPort,
});

describe('cache and clear-text answers', () => {
  for (const { label, strictToo, expected } of [
    { label: 'a Strict upstream configured: never served from the cache', strictToo: true, expected: 2 },
    { label: 'only Opportunistic upstreams: served from the cache', strictToo: false, expected: 1 },
  ]) {
    it(label, async () => {
      const plain = await startFakePlain();
      const tlsPort = await closedPort();
      const upstreams = [upstream(tlsPort, 'opportunistic', plain.port)];
      if (strictToo) upstreams.unshift(upstream(await closedPort(), 'strict', plain.port));
      const stack = await startStack({ upstreams, cache: DEFAULT_CACHE_CONFIG });
      try {
        for (const id of [1, 2]) {
          const answer = parseAnswer(
            await udpQuery(stack.port, buildQuery('clear.example', 'A', { id }), { timeoutMs: 4000 }),
          );
          assert.equal(answer.rcode, 'NOERROR');
          assert.equal(answer.id, id);
        }
        assert.equal(plain.queries.filter((q) => q.name === 'clear.example').length, expected);
      } finally {
        await stack.close();
        await plain.close();
      }
    });
  }
});
