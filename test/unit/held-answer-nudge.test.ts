// When the first octet of our next frame goes ahead to free an answer held behind Nagle, and what the next
// write then carries. The end-to-end case against a server is test/integration/held-answer.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrames } from '../../src/dns/length-prefix.js';
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
    nudge.afterAnswers(1, false);
    assert.deepEqual(w.writes.slice(1), [Buffer.from([0])], 'once, until the frame it began goes');
    const q2 = query(30, 2);
    nudge.send([q2], 5);
    assert.deepEqual(Buffer.concat(w.writes.slice(1)), encodeFrames([q2]), 'then the rest of the frame');
    nudge.afterAnswers(1, false);
    assert.deepEqual(w.writes[3], Buffer.from([0]), 'and again after it');
  });

  it('puts a short frame first, or a query of its own when every frame is 256 octets or more', () => {
    const w = io(0xbeef);
    const nudge = nudgeOf({ allowed: true }, w);
    nudge.afterAnswers(1, false);
    const long = query(300, 3);
    const short = query(100, 4);
    nudge.send([long, short], 0);
    assert.deepEqual(Buffer.concat(w.writes), encodeFrames([short, long]));

    w.writes.length = 0;
    nudge.afterAnswers(1, false);
    nudge.send([long], 10);
    const wire = Buffer.concat(w.writes);
    assert.equal(wire.readUInt16BE(0), 17, 'our query: 17 octets, so its length begins with 0');
    const filler = wire.subarray(2, 19);
    assert.equal(filler.readUInt16BE(0), 0xbeef, 'under the ID it was given');
    assert.equal(filler.readUInt16BE(4), 1, 'one question');
    assert.deepEqual([...filler.subarray(12)], [0, 0, 2, 0, 1], 'the root, NS, IN');
    assert.deepEqual(wire.subarray(19), encodeFrames([long]), 'then the frame, whole');
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
