// When the first octet of our next frame goes ahead to free an answer held behind Nagle, and what the next
// write then carries. The end-to-end case against a server is test/integration/held-answer.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrames } from '../../src/dns/length-prefix.js';
import { parseMessage } from '../../src/dns/wire.js';
import {
  HeldAnswerNudge,
  SPARSE_WRITE_GAP_MS,
  type HeldAnswerIo,
  type SplitFrames,
} from '../../src/upstream/held-answer-nudge.js';
import { createLogger } from '../../src/util/logger.js';

const query = (length: number, fill: number): Buffer => Buffer.alloc(length, fill);

function io(id = -1): HeldAnswerIo & { writes: Buffer[]; log: string[] } {
  const writes: Buffer[] = [];
  const log: string[] = [];
  return {
    writes,
    log,
    socket: { write: (b: Buffer) => writes.push(b) },
    ids: { allocateId: () => (id >= 0 ? id : assert.fail('no query of our own expected')) },
    where: {
      logger: createLogger({ level: 'debug', write: (line) => log.push(line) }),
      target: 'up.example',
    },
  };
}

const nudgeOf = (split: SplitFrames, w: HeldAnswerIo): HeldAnswerNudge =>
  new HeldAnswerNudge(split, w.socket, w.ids, w.where);

describe('HeldAnswerNudge', () => {
  it('sends one zero octet while queries wait, and the next write leaves it out', () => {
    const w = io();
    const nudge = nudgeOf({ allowed: true }, w);
    const q1 = query(40, 1);
    nudge.send([q1], 0);
    assert.deepEqual(w.writes, [encodeFrames([q1])], 'nothing owed: frames as they are');
    nudge.afterAnswers(0, false);
    nudge.afterAnswers(2, true);
    assert.equal(w.writes.length, 1, 'nothing when nothing is in flight, or when a write is about to go');
    nudge.afterAnswers(2, false);
    assert.deepEqual(w.writes[1], Buffer.from([0]));
    const q2 = query(30, 2);
    nudge.send([q2], 5);
    assert.deepEqual(Buffer.concat(w.writes.slice(1)), encodeFrames([q2]), 'then the rest of the frame');
    nudge.afterAnswers(1, false);
    assert.deepEqual(w.writes[3], Buffer.from([0]), 'and again after it');
  });

  it('sends a second octet for answers that come one by one, committing the frame to 128 octets', () => {
    const w = io(0x4321);
    const nudge = nudgeOf({ allowed: true }, w);
    nudge.afterAnswers(2, false);
    nudge.afterAnswers(1, false);
    nudge.afterAnswers(1, false);
    assert.deepEqual(w.writes, [Buffer.from([0]), Buffer.from([0x80])], 'two at most');
    const padded = query(128, 6);
    const other = query(100, 7);
    nudge.send([other, padded], 1);
    assert.deepEqual(Buffer.concat(w.writes), encodeFrames([padded, other]), 'the 128-octet frame first');

    w.writes.length = 0;
    nudge.afterAnswers(2, false);
    nudge.afterAnswers(1, false);
    nudge.send([other], 2);
    const wire = Buffer.concat(w.writes);
    assert.equal(wire.readUInt16BE(0), 128, 'none of 128: our own query of 128 first');
    assert.equal(wire.readUInt16BE(2), 0x4321);
    assert.deepEqual(wire.subarray(130), encodeFrames([other]));
  });

  it('completes the frame with a query of its own, a valid padded one, when every frame is 256 octets or more', () => {
    const w = io(0xbeef);
    const nudge = nudgeOf({ allowed: true }, w);
    nudge.afterAnswers(1, false);
    const long = query(300, 3);
    const short = query(100, 4);
    nudge.send([long, short], 0);
    assert.deepEqual(Buffer.concat(w.writes), encodeFrames([short, long]), 'a short frame first');

    w.writes.length = 0;
    nudge.afterAnswers(1, false);
    nudge.send([long], 10);
    const wire = Buffer.concat(w.writes);
    const filler = wire.subarray(2, 2 + wire.readUInt16BE(0));
    const msg = parseMessage(filler);
    assert.equal(msg.id, 0xbeef, 'under the ID it was given');
    assert.equal(msg.question?.key, './2/1', 'the root, NS, IN');
    assert.equal(msg.opt?.udpSize, 1232);
    assert.equal(filler.length, 128, 'padded (RFC 7830) to the block queries are padded to');
    assert.deepEqual(wire.subarray(2 + filler.length), encodeFrames([long]), 'then the frame, whole');
    assert.equal(nudge.isFillerAnswer(0xbeef), true, 'its answer is ours to drop');
    assert.equal(nudge.isFillerAnswer(0xbeef), false, 'once: the ID may be reused');
    assert.equal(nudge.isFillerAnswer(0x1234), false);
  });

  it('stays quiet while writes come closer together than SPARSE_WRITE_GAP_MS on average', () => {
    const w = io();
    const nudge = nudgeOf({ allowed: true }, w);
    let now = 0;
    for (let i = 0; i < 40; i++) nudge.send([query(20, 5)], (now += SPARSE_WRITE_GAP_MS / 4));
    nudge.afterAnswers(3, false);
    assert.equal(w.writes.length, 40, 'a busy connection: the next query comes soon');
    for (let i = 0; i < 40; i++) nudge.send([query(20, 5)], (now += SPARSE_WRITE_GAP_MS * 4));
    nudge.afterAnswers(3, false);
    assert.deepEqual(w.writes[80], Buffer.from([0]), 'sparse again');
  });

  it('gives up on a server that closed while its octet waited and queries were in flight', () => {
    const split: SplitFrames = { allowed: true };
    const w = io();
    const a = nudgeOf(split, w);
    a.closed(true, 3);
    assert.equal(split.allowed, true, 'no octet out: any close is not ours to blame');
    a.afterAnswers(2, false);
    a.closed(false, 3);
    a.closed(true, 0);
    assert.equal(split.allowed, true, 'neither our close nor an idle one');
    a.closed(true, 1);
    assert.equal(split.allowed, false);
    assert.equal(w.log.filter((l) => l.includes('sending whole frames only')).length, 1, 'said once');
    const w2 = io();
    nudgeOf(split, w2).afterAnswers(2, false);
    assert.deepEqual(w2.writes, [], "the upstream's other connections send whole frames only");
  });
});
