// The resolver's use of upstream health under failures that come in bursts: probes that others may join,
// backoffs that a burst cannot push to the cap, timeouts that say nothing about the upstream. Fake upstreams
// that hold every attempt until the test answers or lets the manual clock expire it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectError, ConnectTimeoutError } from '../../src/errors.js';
import { createLogger } from '../../src/util/logger.js';
import { BACKOFF, HeldUpstream, resolverOver as setUp } from '../helpers/held-upstream.js';

const silent = createLogger({ level: 'error', write: () => {} });

describe('resolver and upstream health under bursts', () => {
  it('lets queries join a probe in flight when no upstream is usable, instead of failing them', () => {
    const up = new HeldUpstream('a');
    const { clock, resolver, ask, rcodes } = setUp([up]);
    const health = resolver.upstreams[0]!.health;
    health.failed(new ConnectError('a', new Error('refused')), clock.now());
    clock.advance(1000);
    ask('probe.example');
    assert.equal(health.state.kind, 'probing');
    ask('second.example');
    ask('third.example');
    assert.deepEqual(rcodes(), [], 'nothing failed while the probe was out');
    assert.equal(up.held.length, 3, 'all three went to the probed upstream');
    up.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR', 'NOERROR', 'NOERROR']);
    assert.equal(health.state.kind, 'healthy');
  });

  it('still fails at once while a dead upstream backs off with no probe out', () => {
    const up = new HeldUpstream('a');
    const { clock, resolver, ask, rcodes } = setUp([up]);
    resolver.upstreams[0]!.health.failed(new ConnectError('a', new Error('refused')), clock.now());
    ask('promoted.example'); // all down: promoted to a probe (one a second)
    for (const { sink } of up.held.splice(0)) sink.failed(new ConnectError('a', new Error('refused')));
    ask('next.example');
    assert.deepEqual(rcodes(), ['SERVFAIL', 'SERVFAIL']);
    assert.equal(up.held.length, 0, 'the second query was not sent');
  });

  it('takes one backoff step for a burst of attempts that fail together, not one per attempt', () => {
    const up = new HeldUpstream('a');
    const { clock, resolver, ask, rcodes } = setUp([up]);
    const start = clock.now();
    for (let i = 0; i < 20; i++) ask(`burst${i}.example`);
    clock.advance(3000); // every attempt times out: a stalled connection
    assert.equal(rcodes().length, 20);
    const health = resolver.upstreams[0]!.health;
    assert.equal(health.backoffs, 1);
    assert.deepEqual(health.state, { kind: 'backingOff', until: start + 3000 + BACKOFF.baseMs });
  });

  it('does not count a timeout in the last moments of a query against the upstream it failed over to', () => {
    const [a, b] = [new HeldUpstream('a'), new HeldUpstream('b')];
    const { clock, resolver, ask, rcodes } = setUp([a, b], 1500);
    for (let i = 0; i < 3; i++) {
      ask(`slow${i}.example`);
      clock.advance(1000); // a's attempt: 1000 ms, then the 500 ms left go to b
      assert.equal(b.held.length, i + 1);
      clock.advance(500);
    }
    assert.deepEqual(rcodes(), ['SERVFAIL', 'SERVFAIL', 'SERVFAIL']);
    const [ha, hb] = resolver.upstreams.map((e) => e.health.state.kind);
    assert.equal(ha, 'backingOff', 'a timed out with its full share of the time');
    assert.equal(hb, 'healthy', 'b only ever had the last 500 ms');
  });

  it('counts a failed connect no query waited for, once per upstream across a reload', () => {
    const [a, b] = [new HeldUpstream('a'), new HeldUpstream('b')];
    const { clock, resolver, ask } = setUp([a, b]);
    const health = (i: number): string => resolver.upstreams[i]!.health.state.kind;
    // A connect made ahead of queries (or one that outlived its query's budget) times out by itself.
    a.connectFailed(new ConnectTimeoutError('a', 'tcp', 3000));
    assert.equal(health(0), 'backingOff');
    assert.equal(health(1), 'healthy');
    ask('skips-a.example');
    assert.equal(a.held.length, 0, 'the next query goes straight to b');
    assert.equal(b.held.length, 1);
    // Something that is not a connect failure says nothing about the upstream.
    b.connectFailed(new Error('not a DNS failure'));
    assert.equal(health(1), 'healthy');
    // A reload keeping the same upstream objects does not subscribe again: one failure, one backoff step.
    resolver.reconfigure({
      upstreams: [a, b],
      strategy: 'ordered',
      timeoutMs: 3000,
      maxOutstanding: 1000,
      backoff: BACKOFF,
      clock,
      logger: silent,
    });
    assert.equal(b.connectListeners.length, 1);
    b.connectFailed(new ConnectTimeoutError('b', 'tcp', 3000));
    assert.equal(resolver.upstreams[1]!.health.backoffs, 1);
  });
});
