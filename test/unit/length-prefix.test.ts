import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, encodeFrames, FrameDecoder, FrameQueue } from '../../src/dns/length-prefix.js';

describe('FrameDecoder', () => {
  it('returns many frames from one chunk', () => {
    const frames = Array.from({ length: 50 }, (_, i) => Buffer.alloc(12 + i, i));
    const out = new FrameDecoder().push(Buffer.concat(frames.map(encodeFrame)));
    assert.equal(out.length, 50);
    out.forEach((f, i) => {
      assert.ok(f.equals(frames[i]!));
    });
  });

  it('reassembles a 65535-byte frame sent one byte at a time', () => {
    const payload = Buffer.alloc(65535, 7);
    const wire = encodeFrame(payload);
    const decoder = new FrameDecoder();
    let got: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) got = got.concat(decoder.push(wire.subarray(i, i + 1)));
    assert.equal(got.length, 1);
    assert.ok(got[0]!.equals(payload));
    assert.equal(decoder.pending, 0);
  });

  it('decodes the same frames however the stream is cut into chunks', () => {
    const lcg = { seed: 7 };
    for (let round = 0; round < 20; round++) {
      const decoder = new FrameDecoder();
      const got: Buffer[] = [];
      let fed = 0;
      for (const chunk of cuts(round, lcg)) {
        got.push(...decoder.push(chunk));
        fed += chunk.length;
        assert.equal(decoder.pending, fed - WIRE.length + restOf(FRAMES, got.length));
      }
      assertFrames(got, round);
      assert.equal(decoder.pending, 0);
    }
  });

  it('reports pending bytes of a partial frame and returns empty frames as empty', () => {
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(Buffer.from([0, 20, 1, 2])), []);
    assert.equal(decoder.pending, 4);
    const zero = new FrameDecoder().push(Buffer.from([0, 0]));
    assert.equal(zero.length, 1);
    assert.equal(zero[0]!.length, 0);
  });
});

const FRAMES = Array.from({ length: 200 }, (_, i) => Buffer.alloc((i * 37) % 700, i & 0xff));
const WIRE = Buffer.concat(FRAMES.map(encodeFrame));

/** WIRE in chunks, their sizes from a fixed-seed LCG: 1-9 bytes in rounds 0-9, up to 2,000 after. */
function* cuts(round: number, lcg: { seed: number }): Generator<Buffer> {
  for (let at = 0; at < WIRE.length;) {
    lcg.seed = (Math.imul(lcg.seed, 1103515245) + 12345) >>> 0;
    const size = 1 + (lcg.seed % (round < 10 ? 9 : 2000));
    yield WIRE.subarray(at, at + size);
    at += size;
  }
}

/** Every frame of FRAMES, in order. */
function assertFrames(got: readonly Buffer[], round: number): void {
  assert.equal(got.length, FRAMES.length, `round ${round}`);
  got.forEach((f, i) => {
    assert.ok(f.equals(FRAMES[i]!), `frame ${i}, round ${round}`);
  });
}

/** Bytes of the frames after the first `done` (what the decoder has not yet had), for pending's check. */
function restOf(frames: readonly Buffer[], done: number): number {
  return frames.slice(done).reduce((n, f) => n + f.length + 2, 0);
}

/** Every whole frame the queue holds now. */
function takeAll(queue: FrameQueue): Buffer[] {
  const out: Buffer[] = [];
  for (let frame = queue.next(); frame !== undefined; frame = queue.next()) out.push(frame);
  return out;
}

describe('FrameQueue', () => {
  it('gives frames one at a time, only when whole, and counts the bytes not taken', () => {
    const frames = [Buffer.alloc(12, 1), Buffer.alloc(0), Buffer.alloc(300, 3)];
    const wire = Buffer.concat(frames.map(encodeFrame));
    const queue = new FrameQueue();
    queue.feed(wire.subarray(0, 20));
    assert.equal(queue.ready, true);
    assert.ok(queue.next()?.equals(frames[0]!));
    assert.equal(queue.pending, 6, 'the empty frame and 4 bytes of the third');
    assert.equal(queue.next()?.length, 0, 'a zero-length frame comes back empty');
    assert.equal(queue.ready, false);
    assert.equal(queue.next(), undefined);
    assert.equal(queue.pending, 4);
    queue.feed(wire.subarray(20));
    assert.ok(queue.next()?.equals(frames[2]!));
    assert.equal(queue.pending, 0);
    assert.equal(queue.ready, false);
  });

  it('reassembles a 65535-byte frame fed one byte at a time', () => {
    const payload = Buffer.alloc(65535, 7);
    const wire = encodeFrame(payload);
    const queue = new FrameQueue();
    for (let i = 0; i < wire.length - 1; i++) queue.feed(wire.subarray(i, i + 1));
    assert.equal(queue.next(), undefined);
    queue.feed(wire.subarray(wire.length - 1));
    assert.ok(queue.next()?.equals(payload));
    assert.equal(queue.pending, 0);
  });

  it('decodes the same frames however the stream is cut, whenever they are taken', () => {
    const lcg = { seed: 11 };
    for (let round = 0; round < 20; round++) {
      const queue = new FrameQueue();
      const got: Buffer[] = [];
      let fed = 0;
      for (const chunk of cuts(round, lcg)) {
        queue.feed(chunk);
        fed += chunk.length;
        // Taken now and then, as a client's share allows: frames wait across many chunks.
        if (lcg.seed % 3 === 0) got.push(...takeAll(queue));
        assert.equal(queue.pending, fed - WIRE.length + restOf(FRAMES, got.length));
      }
      got.push(...takeAll(queue));
      assertFrames(got, round);
      assert.equal(queue.pending, 0);
    }
  });
});

describe('encodeFrames', () => {
  it('is the frames of each message back to back, nothing more', () => {
    const messages = [Buffer.alloc(12, 1), Buffer.alloc(0), Buffer.alloc(300, 3)];
    const out = encodeFrames(messages);
    assert.ok(out.equals(Buffer.concat(messages.map(encodeFrame))));
    assert.deepEqual(new FrameDecoder().push(out), messages);
  });
});
