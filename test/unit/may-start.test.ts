import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TCP_LIMITS, mayStart } from '../../src/server/stream-client.js';

describe('mayStart (TCP and DoT clients sharing a listener)', () => {
  const limits = DEFAULT_TCP_LIMITS; // 128 per client
  const load = (clients: number, inFlight: number) => ({ clients, inFlight });

  it('lets up to four clients pipeline to their cap while the listener is under 512', () => {
    assert.equal(mayStart(limits, 127, load(1, 127)), true);
    assert.equal(mayStart(limits, 128, load(1, 128)), false);
    assert.equal(mayStart(limits, 127, load(4, 508)), true);
    assert.equal(mayStart(limits, 100, load(4, 512)), false);
  });

  it('shares 512 out among more clients, 16 each at least, and 16 always', () => {
    assert.equal(mayStart(limits, 31, load(16, 100)), true);
    assert.equal(mayStart(limits, 32, load(16, 100)), false, 'a share of 512 / 16');
    assert.equal(mayStart(limits, 15, load(1000, 5000)), true, '16 whatever the others do');
    assert.equal(mayStart(limits, 16, load(1000, 100)), false);
    assert.equal(mayStart(limits, 20, load(8, 600)), false, 'past 16 only while under 512');
  });

  it('never over the configured per-client cap; without a listener, that cap alone', () => {
    const small = { ...limits, maxInFlightPerClient: 10 };
    assert.equal(mayStart(small, 10, load(1, 10)), false);
    assert.equal(mayStart(small, 9, load(100, 9)), true);
    assert.equal(mayStart(limits, 127, undefined), true);
    assert.equal(mayStart(limits, 128, undefined), false);
  });
});
