// A server that leaves Nagle on (unbound) writes one answer and holds the rest until our ACK, which our
// kernel delays while we have nothing to send: a burst's answers after the first came 40 ms late. The
// daemon sends a query of its own to carry the ACK (src/upstream/ack-nudge.ts). The in-process server
// emulates Nagle at the application level, so the behaviour is the same on every machine: an answer
// waits while one already written is unacknowledged, that is until the client next sends bytes. What is
// checked is the behaviour on the wire, not the time saved (that is measured by hand, see the commit).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NUDGE_CREDIT } from '../../src/upstream/ack-nudge.js';
import { buildQuery, parseAnswer, sleep, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import type { Action, QueryContext, ReceivedQuery } from '../helpers/fake-upstream-types.js';
import { spec, startStack } from '../helpers/stack.js';

/** Nagle, emulated: what the server has written stays unacknowledged until the client's next bytes. */
function nagle(): (q: ReceivedQuery, ctx: QueryContext) => Action {
  /** By connection: the client's byte count when the server last wrote, while that write is unacknowledged. */
  const unackedSince = new Map<number, number>();
  return (q, ctx) => {
    const seen = ctx.connection.bytesReceived;
    const mark = unackedSince.get(q.connectionIndex);
    if (mark !== undefined && seen > mark) {
      // The client's bytes carried the ACK: what was held goes out, and is in turn unacknowledged.
      unackedSince.delete(q.connectionIndex);
      if (ctx.releaseHeld() > 0) unackedSince.set(q.connectionIndex, seen);
    }
    if (unackedSince.has(q.connectionIndex)) return { hold: true };
    unackedSince.set(q.connectionIndex, seen);
    return {};
  };
}

const names = (round: number, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `q${i}.round${round}.nudge.example`);

describe('nudge for answers held until our ACK', () => {
  it('gets every answer of a burst from a server that holds them, dropping the answer to its own query', async () => {
    const up = await startFakeUpstream({ onQuery: nagle() });
    const stack = await startStack({ upstreams: [spec(up.port)], ackNudge: true });
    try {
      const warm = await udpQuery(stack.port, buildQuery('warm.nudge.example', 'A'));
      assert.equal(parseAnswer(warm).rcode, 'NOERROR');
      for (let round = 0; round < 3; round++) {
        const before = up.queries.length;
        const real = names(round, 4);
        const queries = real.map((name, i) => buildQuery(name, i % 2 ? 'AAAA' : 'A'));
        // One client write, so one write upstream: the server sees the burst at once.
        const answers = await tcpQuery(stack.port, queries, { timeoutMs: 2000 });
        assert.deepEqual(
          answers.map((a) => parseAnswer(a).rcode),
          ['NOERROR', 'NOERROR', 'NOERROR', 'NOERROR'],
          `round ${round}: every answer, none held for good`,
        );
        const asked = up.queries.slice(before).map((q) => q.name);
        const earlier = up.queries.slice(0, before).map((q) => q.name);
        assert.deepEqual(
          asked.filter((n) => !real.includes(n) && !earlier.includes(n)),
          [],
          'the nudge asks a question already asked (the last answered)',
        );
        assert.ok(asked.length > real.length, `round ${round}: a query of our own carried the ACK`);
      }
      const counters = stack.daemon.upstreams[0]!.counters;
      assert.equal(counters.unmatchedAnswers, 0, 'the answers to our own queries are expected, not strays');
      assert.equal(counters.connectionsOpened, 1);
      assert.ok(stack.log.some((l) => l.includes('to carry our ACK')));
    } finally {
      await stack.close();
      await up.close();
    }
  });

  it('stops nudging a server that sends at once and is only slow to resolve', async () => {
    // No Nagle here: the `slow` names take 150 ms, as a recursive server's misses do. A nudge then
    // releases nothing (its own answer comes first), and NUDGE_CREDIT of those end the nudging.
    const up = await startFakeUpstream({
      onQuery: (q) => (q.name.startsWith('slow') ? { delayMs: 150 } : {}),
    });
    const stack = await startStack({ upstreams: [spec(up.port)], ackNudge: true });
    try {
      await udpQuery(stack.port, buildQuery('warm.nudge.example', 'A'));
      await sleep(50);
      const before = up.queries.length;
      const rounds = NUDGE_CREDIT + 3;
      for (let round = 0; round < rounds; round++) {
        const queries = [
          buildQuery(`fast.r${round}.example`, 'A'),
          buildQuery(`slow.r${round}.example`, 'A'),
        ];
        const answers = await tcpQuery(stack.port, queries, { timeoutMs: 2000 });
        assert.deepEqual(
          answers.map((a) => parseAnswer(a).rcode),
          ['NOERROR', 'NOERROR'],
        );
      }
      await sleep(50);
      const copies = up.queries.length - before - rounds * 2;
      assert.equal(copies, NUDGE_CREDIT, 'nudges until the credit is spent, then none');
      assert.equal(stack.daemon.upstreams[0]!.counters.unmatchedAnswers, 0);
    } finally {
      await stack.close();
      await up.close();
    }
  });
});
