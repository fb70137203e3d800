// The UDP listener asks for a receive buffer big enough to ride out a pause of the event loop at 10,000 q/s.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Resolver } from '../../src/resolver/resolver.js';
import { newServerCounters } from '../../src/server/query-handler.js';
import { UdpListener } from '../../src/server/udp-listener.js';
import { systemClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';

/** The kernel's cap on SO_RCVBUF, where the platform says (Linux). */
function receiveBufferCap(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
  } catch {
    return 0;
  }
}

describe('UDP listener receive buffer', () => {
  it('is raised to 2 MiB, or to what the kernel allows', async () => {
    const logger = createLogger({ level: 'error', write: () => undefined });
    const resolver = new Resolver({
      upstreams: [],
      strategy: 'ordered',
      timeoutMs: 1000,
      maxOutstanding: 10,
      clock: systemClock,
      logger,
    });
    const listener = await UdpListener.bind('127.0.0.1', 0, {
      resolver,
      counters: newServerCounters(),
      logger,
    });
    try {
      const cap = receiveBufferCap();
      if (cap > 0) assert.ok(listener.receiveBufferBytes >= Math.min(2 * 1024 * 1024, cap));
      else assert.ok(listener.receiveBufferBytes > 0);
    } finally {
      await listener.close();
    }
  });
});
