// When a query of our own goes out to carry our ACK, what it asks, and which answers are dropped.
// The end-to-end cases, against servers that hold answers and servers that do not, are in
// test/integration/ack-nudge.test.ts and ticket-nudge.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  AckNudge,
  carrierQuery,
  NUDGE_AFTER_MS,
  NUDGE_CREDIT,
  NUDGE_RETRY_MS,
  type NudgeTarget,
} from '../../src/upstream/ack-nudge.js';
import { buildAnswer } from '../helpers/dns-answer.js';
import { buildQuery } from '../helpers/dns-messages.js';
import { ManualClock } from '../helpers/manual-clock.js';

interface Sent {
  answered: Buffer | undefined;
  sent: Buffer;
}

function target(open = true): NudgeTarget & { out: Sent[]; open: boolean } {
  const t = {
    out: [] as Sent[],
    open,
    canResend: (): boolean => t.open,
    resend: (answered: Buffer | undefined, sent: Buffer): number => {
      t.out.push({ answered, sent });
      return 4000 + t.out.length;
    },
  };
  return t;
}

function setup(open = true): { clock: ManualClock; t: ReturnType<typeof target>; nudge: AckNudge } {
  const clock = new ManualClock();
  const t = target(open);
  return { clock, t, nudge: new AckNudge(clock, t) };
}

describe('AckNudge', () => {
  it('sends once, NUDGE_AFTER_MS after the last arrival, and drops only that answer', () => {
    const { clock, t, nudge } = setup();
    const first = Buffer.from([0, 1, 2]);
    nudge.sent(first);
    nudge.received();
    clock.advance(1);
    nudge.received();
    clock.advance(NUDGE_AFTER_MS - 1);
    assert.equal(t.out.length, 0, 'counted from the last arrival, not the first');
    clock.advance(1);
    assert.deepEqual(t.out, [{ answered: undefined, sent: first }], 'before any answer: the query sent');
    clock.advance(NUDGE_AFTER_MS * 5);
    assert.equal(t.out.length, 1, 'once per arrival');
    assert.equal(nudge.isCopyAnswer(1234, true), false, 'another ID is a real answer');
    assert.equal(nudge.isCopyAnswer(4001, true), true);
    assert.equal(nudge.isCopyAnswer(4001, true), false, 'dropped once: the ID may be reused');
  });

  it('asks the question answered last once there is one', () => {
    const { clock, t, nudge } = setup();
    const answer = Buffer.from([7, 7, 7]);
    nudge.sent(Buffer.from([1]));
    nudge.answered(answer);
    nudge.sent(Buffer.from([2]));
    nudge.received();
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(t.out[0]?.answered, answer);
  });

  it('sends nothing after a write of ours, when the connection cannot take it, or before any query', () => {
    const wrote = setup();
    wrote.nudge.sent(Buffer.from([1]));
    wrote.nudge.received();
    wrote.nudge.wrote();
    wrote.clock.advance(NUDGE_AFTER_MS * 2);
    assert.equal(wrote.t.out.length, 0, 'our write carried the ACK');

    const closed = setup(false);
    closed.nudge.sent(Buffer.from([1]));
    closed.nudge.received();
    closed.clock.advance(NUDGE_AFTER_MS);
    assert.equal(closed.t.out.length, 0, 'closed, nothing waiting, or a write about to go');

    const idle = setup();
    idle.nudge.received();
    idle.clock.advance(NUDGE_AFTER_MS);
    assert.equal(idle.t.out.length, 0, 'no query sent yet');
  });

  it('stops after NUDGE_CREDIT nudges that released nothing, and a useful one restores the credit', () => {
    const { clock, t, nudge } = setup();
    nudge.sent(Buffer.from([1]));
    const useless = (): void => {
      nudge.received();
      clock.advance(NUDGE_AFTER_MS);
      const id = 4000 + t.out.length;
      // The copy's answer comes first while the queries still wait: it released nothing.
      assert.equal(nudge.isCopyAnswer(id, true), true);
    };
    for (let i = 0; i < NUDGE_CREDIT; i++) useless();
    assert.equal(t.out.length, NUDGE_CREDIT);
    nudge.received();
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(t.out.length, NUDGE_CREDIT, 'no credit left');

    clock.advance(NUDGE_RETRY_MS);
    nudge.received();
    clock.advance(NUDGE_AFTER_MS);
    assert.equal(t.out.length, NUDGE_CREDIT + 1, 'one retry after NUDGE_RETRY_MS');
    // This time a held answer comes out ahead of the copy's: the nudge paid, the credit is back.
    nudge.answered(Buffer.from([9]));
    assert.equal(nudge.isCopyAnswer(4000 + t.out.length, false), true);
    for (let i = 0; i < NUDGE_CREDIT; i++) {
      nudge.received();
      clock.advance(NUDGE_AFTER_MS);
    }
    assert.equal(t.out.length, NUDGE_CREDIT * 2 + 1, 'nudging again');
  });

  it('does not count a copy answered after everything else as useless', () => {
    const { clock, t, nudge } = setup();
    nudge.sent(Buffer.from([1]));
    for (let i = 0; i < NUDGE_CREDIT + 1; i++) {
      nudge.received();
      clock.advance(NUDGE_AFTER_MS);
      assert.equal(nudge.isCopyAnswer(4000 + t.out.length, false), true);
    }
    assert.equal(t.out.length, NUDGE_CREDIT + 1, 'nothing was waiting: no verdict, credit kept');
  });

  it('clear() stops the timer', () => {
    const { clock, t, nudge } = setup();
    nudge.sent(Buffer.from([1]));
    nudge.received();
    nudge.clear();
    clock.advance(NUDGE_AFTER_MS * 2);
    assert.equal(t.out.length, 0);
    assert.equal(clock.pending, 0);
  });
});

describe('carrierQuery', () => {
  const shape = { padBlock: 128, keepalive: true };

  it('asks the answered question as our queries go: our ID, RD, padded, keepalive, no answer records', () => {
    const answer = buildAnswer(buildQuery('Held.Example', 'AAAA', { id: 9 }));
    const wire = carrierQuery(answer, Buffer.from([1, 2, 3]), 0x4242, shape);
    const q = dnsPacket.decode(wire);
    assert.equal(q.id, 0x4242);
    assert.equal(q.type, 'query');
    assert.equal(q.flags, 0x0100, 'a query with RD, not the answer flags');
    assert.deepEqual(
      q.questions?.map((x) => [x.name, x.type]),
      [['Held.Example', 'AAAA']],
    );
    assert.equal(q.answers?.length, 0);
    assert.equal(wire.length % 128, 0, 'padded to the block (RFC 8467)');
    const opt = q.additionals?.find((r) => r.type === 'OPT');
    const codes = (opt as { options?: { code: number }[] } | undefined)?.options?.map((o) => o.code);
    assert.deepEqual(codes?.sort(), [11, 12], 'keepalive and padding');
  });

  it('before any answer: the query sent, under the new ID', () => {
    const sent = buildQuery('first.example', 'A', { id: 1 });
    const wire = carrierQuery(undefined, sent, 7, shape);
    assert.equal(wire.readUInt16BE(0), 7);
    assert.deepEqual(wire.subarray(2), sent.subarray(2));
    assert.equal(sent.readUInt16BE(0), 1, 'the original is left as it was');
  });
});
