// An answer's round trip (the query time `dotstub query` prints) is measured from the attempt's start to
// the microsecond, although what a query keeps in flight is in whole milliseconds (resolver.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldUpstream, resolverOver } from '../helpers/held-upstream.js';

describe("an answer's round trip", () => {
  it('counts from when the attempt started, not from the millisecond it started in', () => {
    const a = new HeldUpstream('a');
    const { clock, ask, results } = resolverOver([a], 5000);
    clock.advance(0.7); // the query arrives 0.7 ms into a millisecond
    ask('rtt.example');
    clock.advance(0.5);
    a.answerAll();
    const rtt = results[0]?.via?.rttMs;
    assert.ok(rtt !== undefined && Math.abs(rtt - 0.5) < 0.002, `round trip ${rtt} ms, 0.5 expected`);
  });

  it('ends when the upstream read the answer, when it says so (a stream connection does)', () => {
    const a = new HeldUpstream('a');
    const { clock, ask, results } = resolverOver([a], 5000);
    ask('read-at.example');
    clock.advance(0.4);
    const readAt = clock.now();
    // The resolver hears of it later (other answers of the same TCP read went first): not counted.
    clock.advance(2);
    a.answerAll(readAt);
    const rtt = results[0]?.via?.rttMs;
    assert.ok(rtt !== undefined && Math.abs(rtt - 0.4) < 0.002, `round trip ${rtt} ms, 0.4 expected`);
  });

  it('of a failover attempt counts from that attempt, not from the query', () => {
    const [a, b] = [new HeldUpstream('a'), new HeldUpstream('b')];
    const { clock, ask, results } = resolverOver([a, b], 5000);
    clock.advance(0.25);
    ask('failover-rtt.example');
    clock.advance(3.5);
    a.failAll(new Error('refused'));
    clock.advance(1.25);
    b.answerAll();
    const rtt = results[0]?.via?.rttMs;
    assert.equal(results[0]?.via?.upstream, 'b');
    assert.ok(rtt !== undefined && Math.abs(rtt - 1.25) < 0.002, `round trip ${rtt} ms, 1.25 expected`);
  });
});
