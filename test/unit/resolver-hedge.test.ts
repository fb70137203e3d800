// Hedging (src/resolver/hedge.ts): an attempt that waits on a connect asks the next upstream too after
// HEDGE_MS, an attempt on an open connection never does, and whatever the hedged attempts do after the
// client has its answer only goes to upstream health. On a manual clock: the waits are exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectTimeoutError } from '../../src/errors.js';
import { HEDGE_MS } from '../../src/resolver/hedge.js';
import { HeldUpstream, resolverOver } from '../helpers/held-upstream.js';

/** Two upstreams, `a` first with no connection up (its connect hangs), on a 5 s query deadline. */
function coldFirst() {
  const [a, b] = [new HeldUpstream('a'), new HeldUpstream('b')];
  a.connected = false;
  return { a, b, ...resolverOver([a, b], 5000) };
}

describe('hedging an attempt that waits on a connect', () => {
  it('asks the next upstream after HEDGE_MS when the first has no connection up, and answers from it', () => {
    const { a, b, clock, ask, rcodes, results } = coldFirst(); // a's connect hangs: IPv6 routed but dropped
    ask('hedged.example');
    assert.equal(a.held.length, 1);
    clock.advance(HEDGE_MS - 1);
    assert.equal(b.held.length, 0, 'not before HEDGE_MS');
    clock.advance(1);
    assert.equal(b.held.length, 1, 'b asked HEDGE_MS after a, without a giving up');
    assert.equal(a.held[0]?.sink.aborted, false, 'a keeps its attempt: its connect may still come up');
    b.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR']);
    assert.equal(results[0]?.via?.upstream, 'b');
  });

  it('never hedges an attempt on an open connection: a slow answer there is the upstream resolving', () => {
    const [a, b] = [new HeldUpstream('a'), new HeldUpstream('b')];
    const { clock, ask, rcodes } = resolverOver([a, b], 5000);
    ask('slow.example');
    clock.advance(2000);
    assert.equal(b.held.length, 0, 'b not asked while a works on it');
    a.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR']);
  });

  it('gives the client one answer when both answer, and keeps the late one as a success for health', () => {
    const { a, b, clock, resolver, ask, results } = coldFirst();
    ask('both.example');
    clock.advance(HEDGE_MS);
    b.answerAll();
    a.answerAll(); // a's connect came up after all: its answer arrives second
    assert.equal(results.length, 1, 'one result for one query');
    assert.equal(results[0]?.via?.upstream, 'b');
    assert.equal(resolver.outstanding, 0);
    assert.equal(resolver.upstreams[0]?.health.state.kind, 'healthy');
  });

  it('records the hedged attempt failing after the answer against its upstream', () => {
    const { a, b, clock, resolver, ask, rcodes } = coldFirst();
    ask('late-failure.example');
    clock.advance(HEDGE_MS);
    b.answerAll();
    a.failAll(new ConnectTimeoutError('a', 'tcp', 3000));
    assert.deepEqual(rcodes(), ['NOERROR'], 'the failure after the answer changes nothing for the client');
    assert.equal(resolver.upstreams[0]?.health.state.kind, 'backingOff', 'a connect timeout backs a off');
    assert.equal(resolver.upstreams[1]?.health.state.kind, 'healthy');
  });

  it('waits for a hedged attempt still running before answering SERVFAIL, then answers it promptly', () => {
    const { a, b, clock, ask, rcodes, results } = coldFirst();
    ask('connecting.example');
    clock.advance(HEDGE_MS);
    b.failAll(new ConnectTimeoutError('b', 'tcp', 3000)); // b fails at once: a's connect is the last hope
    assert.deepEqual(rcodes(), [], 'a may still connect: no SERVFAIL yet');
    a.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR']);
    assert.equal(results[0]?.via?.upstream, 'a');
    // And when a fails too, the client hears SERVFAIL at that moment, not at the deadline.
    ask('nothing.example');
    const before = clock.now();
    clock.advance(HEDGE_MS);
    b.failAll(new ConnectTimeoutError('b', 'tcp', 3000));
    a.failAll(new ConnectTimeoutError('a', 'tcp', 3000));
    assert.deepEqual(rcodes(), ['NOERROR', 'SERVFAIL']);
    assert.equal(clock.now() - before, HEDGE_MS);
  });

  it('hedges from one connect-waiting upstream to the next, one HEDGE_MS at a time', () => {
    const ups = ['a', 'b', 'c'].map((id) => new HeldUpstream(id));
    ups[0]!.connected = false;
    ups[1]!.connected = false;
    const { clock, ask, rcodes, results } = resolverOver(ups, 5000);
    ask('chain.example');
    clock.advance(HEDGE_MS);
    assert.deepEqual(
      ups.map((u) => u.held.length),
      [1, 1, 0],
    );
    clock.advance(HEDGE_MS);
    assert.deepEqual(
      ups.map((u) => u.held.length),
      [1, 1, 1],
    );
    ups[2]!.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR']);
    assert.equal(results[0]?.via?.upstream, 'c');
  });

  it('does not hedge to a less private upstream: that is for failure, not for a connect in progress', () => {
    const a = new HeldUpstream('a', 'authenticated');
    const b = new HeldUpstream('b', 'clear');
    a.connected = false;
    const { clock, ask, rcodes, results } = resolverOver([a, b], 5000);
    ask('private.example');
    clock.advance(2000);
    assert.equal(b.held.length, 0, 'nothing in clear while the authenticated connect is under way');
    a.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR']);
    assert.equal(results[0]?.via?.upstream, 'a');
  });

  it('does not hedge the last candidate, and lets its attempt have the time left', () => {
    const a = new HeldUpstream('a');
    a.connected = false;
    const { clock, ask, rcodes } = resolverOver([a], 5000);
    ask('only.example');
    clock.advance(4999);
    assert.equal(a.held.length, 1);
    assert.deepEqual(rcodes(), []);
    clock.advance(1);
    assert.deepEqual(rcodes(), ['SERVFAIL']);
  });
});
