import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, encodeFrames, FrameDecoder } from '../../src/dns/length-prefix.js';

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

  it('reports pending bytes of a partial frame and returns empty frames as empty', () => {
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(Buffer.from([0, 20, 1, 2])), []);
    assert.equal(decoder.pending, 4);
    const zero = new FrameDecoder().push(Buffer.from([0, 0]));
    assert.equal(zero.length, 1);
    assert.equal(zero[0]!.length, 0);
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
