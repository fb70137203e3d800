// When a fresh connection's first query is sent again after a session ticket, and which answer is dropped.
// The end-to-end case against a server with Nagle on is test/integration/ticket-nudge.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirstAnswerNudge, NUDGE_AFTER_MS, type NudgeTarget } from '../../src/upstream/first-answer-nudge.js';
import { ManualClock } from '../helpers/manual-clock.js';

function target(open = true): NudgeTarget & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  return {
    sent,
    canResend: () => open,
    resend: (first) => {
      sent.push(first);
      return 4321;
    },
  };
}

describe('FirstAnswerNudge', () => {
  it('sends the first query again once, NUDGE_AFTER_MS after the ticket, and drops only its answer', () => {
    const clock = new ManualClock();
    const nudge = new FirstAnswerNudge();
    const t = target();
    const first = Buffer.from([0, 1, 2]);
    nudge.sent(first, true);
    nudge.sent(Buffer.from([9]), false);
    nudge.ticket(clock, t, false);
    nudge.ticket(clock, t, false);
    clock.advance(NUDGE_AFTER_MS - 1);
    assert.equal(t.sent.length, 0, 'not before NUDGE_AFTER_MS');
    clock.advance(1);
    assert.deepEqual(t.sent, [first], 'the first query, once, whatever the tickets');
    assert.equal(nudge.isCopyAnswer(1234), false, 'another ID is a real answer');
    assert.equal(nudge.isCopyAnswer(4321), true);
    assert.equal(nudge.isCopyAnswer(4321), false, 'dropped once: the ID may be reused');
  });

  it('sends nothing once answered, with a write about to go, or when the connection cannot take it', () => {
    const clock = new ManualClock();
    const answered = new FirstAnswerNudge();
    const a = target();
    answered.sent(Buffer.from([1]), true);
    answered.ticket(clock, a, false);
    answered.answered();
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(a.sent.length, 0, 'answered before the timer');

    const busy = new FirstAnswerNudge();
    const b = target();
    busy.sent(Buffer.from([1]), true);
    busy.ticket(clock, b, true);
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(b.sent.length, 0, 'our pending write carries the ACK anyway');

    const closed = new FirstAnswerNudge();
    const c = target(false);
    closed.sent(Buffer.from([1]), true);
    closed.ticket(clock, c, false);
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(c.sent.length, 0, 'closed or nothing in flight');

    const idle = new FirstAnswerNudge();
    const d = target();
    idle.ticket(clock, d, false);
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(d.sent.length, 0, 'no query sent yet');
  });
});
