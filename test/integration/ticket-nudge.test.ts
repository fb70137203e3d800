// A server that leaves Nagle on (unbound, and this in-process one) holds its answer behind a TLS 1.3
// session ticket until our ACK comes; StreamConnection.nudge() sends the first query once more so that
// the ACK goes at once. What is checked here is the behaviour on the wire, not the time saved (that is
// the benchmark's): one copy of the same question under another ID, its answer dropped quietly, one
// answer to the client, and nothing more on later queries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQuery, parseAnswer, sleep, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';

describe('nudge after a session ticket (Nagle on the server, delayed ACK here)', () => {
  it('sends a fresh connection first query once more under another ID, drops that answer, answers once', async () => {
    // The first query waits 300 ms at the server: the session ticket arrives well before its answer.
    const up = await startFakeUpstream({
      onQuery: (q) => (q.connectionIndex === 0 && q.name === 'first.nudge.example' ? { delayMs: 300 } : {}),
    });
    const stack = await startStack({ upstreams: [spec(up.port)], nudgeAfterTicket: true });
    try {
      const first = await udpQuery(stack.port, buildQuery('first.nudge.example', 'A', { id: 7 }));
      assert.equal(parseAnswer(first).rcode, 'NOERROR');
      assert.equal(parseAnswer(first).id, 7);
      const copies = up.queries.filter((q) => q.name === 'first.nudge.example');
      assert.equal(copies.length, 2, 'the first question reached the server twice');
      assert.notEqual(copies[0]!.id, copies[1]!.id);
      assert.deepEqual(
        copies[1]!.raw.subarray(2),
        copies[0]!.raw.subarray(2),
        'the same query but for its ID',
      );
      assert.equal(copies[1]!.connectionIndex, 0);

      for (let i = 0; i < 3; i++) {
        const later = await udpQuery(stack.port, buildQuery(`later${i}.nudge.example`, 'A'));
        assert.equal(parseAnswer(later).rcode, 'NOERROR');
      }
      await sleep(400); // both answers to the first question are in by now
      assert.equal(up.queries.length, 5, 'later queries go once');
      const counters = stack.daemon.upstreams[0]!.counters;
      assert.equal(counters.unmatchedAnswers, 0, 'the copy answer is expected, not counted as stray');
      assert.equal(counters.connectionsOpened, 1);
      assert.ok(stack.log.some((l) => l.includes('sent the first query again after a session ticket')));
    } finally {
      await stack.close();
      await up.close();
    }
  });

  it('sends nothing more when the option is off', async () => {
    const up = await startFakeUpstream({ onQuery: () => ({ delayMs: 300 }) });
    const stack = await startStack({ upstreams: [spec(up.port)], nudgeAfterTicket: false });
    try {
      const answer = await udpQuery(stack.port, buildQuery('off.nudge.example', 'A'));
      assert.equal(parseAnswer(answer).rcode, 'NOERROR');
      assert.equal(up.queries.length, 1);
    } finally {
      await stack.close();
      await up.close();
    }
  });
});
