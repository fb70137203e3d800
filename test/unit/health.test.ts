import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConnectError,
  ConnectionClosedError,
  QueryTimeoutError,
  UpstreamBusyError,
} from '../../src/errors.js';
import { nextDelayMs } from '../../src/util/backoff.js';
import { attemptStart } from '../../src/resolver/selection.js';
import { UpstreamHealth } from '../../src/resolver/upstream-health.js';

const half = (): number => 0.5; // no jitter

describe('nextDelayMs', () => {
  it('doubles from the base and stops at the cap', () => {
    const policy = { baseMs: 1000, capMs: 10_000, jitter: 0 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => nextDelayMs(n, policy)),
      [1000, 2000, 4000, 8000, 10_000, 10_000],
    );
  });

  it('keeps jitter within its fraction and under the cap', () => {
    const policy = { baseMs: 1000, capMs: 60_000, jitter: 0.2 };
    assert.equal(
      nextDelayMs(1, policy, () => 0),
      800,
    );
    assert.equal(
      nextDelayMs(1, policy, () => 0.999999),
      1200,
    );
    assert.equal(
      nextDelayMs(20, policy, () => 0.999999),
      60_000,
    );
  });
});

describe('UpstreamHealth', () => {
  const policy = { baseMs: 1000, capMs: 8000, jitter: 0 };

  it('backs off at once on a connect failure, then lets exactly one probe through when due', () => {
    const h = new UpstreamHealth(policy);
    assert.equal(h.failed(new ConnectError('x', new Error('refused')), 0, half), true);
    assert.deepEqual(h.state, { kind: 'backingOff', until: 1000 });
    assert.equal(h.check(999), 'skip');
    assert.equal(h.check(1000), 'probe');
    assert.equal(h.check(1000), 'skip', 'a second query does not probe too');
    h.failed(new ConnectError('x', new Error('refused')), 1000, half);
    assert.deepEqual(h.state, { kind: 'backingOff', until: 3000 });
    h.succeeded();
    assert.equal(h.check(3000), 'use');
  });

  it('tolerates one timeout, backs off on the second in a row', () => {
    const h = new UpstreamHealth(policy);
    assert.equal(h.failed(new QueryTimeoutError(), 0), false);
    assert.equal(h.check(0), 'use');
    assert.equal(h.failed(new ConnectionClosedError('x', false), 0), true);
    assert.equal(h.check(0), 'skip');
  });

  it('does not count a working connection that the server closed', () => {
    const h = new UpstreamHealth(policy);
    for (let i = 0; i < 5; i++) assert.equal(h.failed(new ConnectionClosedError('x', true), 0), false);
    assert.equal(h.check(0), 'use');
  });

  it('does not back off for busy', () => {
    const h = new UpstreamHealth(policy);
    assert.equal(h.failed(new UpstreamBusyError('x'), 0), false);
    assert.equal(h.check(0), 'use');
  });

  it('gives an unused probe back so the next query can take it', () => {
    const h = new UpstreamHealth(policy);
    h.failed(new ConnectError('x', new Error('refused')), 0, half);
    assert.equal(h.check(2000), 'probe');
    h.releaseProbe(2000);
    assert.equal(h.check(2000), 'probe');
  });
});

describe('attemptStart', () => {
  it('rotates the start for round robin and always starts at the first for ordered', () => {
    assert.equal(attemptStart('round-robin', 3, 0), 0);
    assert.equal(attemptStart('round-robin', 3, 4), 1);
    assert.equal(attemptStart('ordered', 3, 4), 0);
    assert.equal(attemptStart('round-robin', 0, 4), 0);
  });
});
