import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TCP_LIMITS, mayStart } from '../../src/server/stream-client.js';

describe('mayStart (TCP and DoT clients sharing a listener)', () => {
  const limits = DEFAULT_TCP_LIMITS; // 128 per client
  const load = (clients: number, inFlight: number) => ({ clients, inFlight });

  it('lets one or two clients pipeline to their cap while the listener is under 256', () => {
    assert.equal(mayStart(limits, 127, load(1, 127)), true);
    assert.equal(mayStart(limits, 128, load(1, 128)), false);
    assert.equal(mayStart(limits, 127, load(2, 254)), true);
    assert.equal(mayStart(limits, 100, load(2, 256)), false);
  });

  it('shares 256 out among more clients, 8 each at least, and 8 always', () => {
    assert.equal(mayStart(limits, 63, load(4, 100)), true);
    assert.equal(mayStart(limits, 64, load(4, 100)), false, 'a share of 256 / 4');
    assert.equal(mayStart(limits, 15, load(16, 100)), true);
    assert.equal(mayStart(limits, 16, load(16, 100)), false, 'a share of 256 / 16');
    assert.equal(mayStart(limits, 7, load(1000, 5000)), true, '8 whatever the others do');
    assert.equal(mayStart(limits, 8, load(1000, 100)), false);
    assert.equal(mayStart(limits, 10, load(8, 300)), false, 'past 8 only while under 256');
  });

  it('never over the configured per-client cap; without a listener, that cap alone', () => {
    const small = { ...limits, maxInFlightPerClient: 6 };
    assert.equal(mayStart(small, 6, load(1, 6)), false);
    assert.equal(mayStart(small, 5, load(100, 5)), true);
    assert.equal(mayStart(limits, 127, undefined), true);
    assert.equal(mayStart(limits, 128, undefined), false);
  });
});
