import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { copyBytes, copyOf, setU16, setU32, u16, u32, viewOf } from '../../src/dns/bytes.js';

describe('big-endian fields by index', () => {
  it('reads what the Buffer methods read, at any offset and for the extremes', () => {
    const buf = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff]);
    for (let at = 0; at + 2 <= buf.length; at++)
      assert.equal(u16(buf, at), buf.readUInt16BE(at), `u16 at ${at}`);
    for (let at = 0; at + 4 <= buf.length; at++)
      assert.equal(u32(buf, at), buf.readUInt32BE(at), `u32 at ${at}`);
    assert.equal(u32(buf, 7), 0xffffffff);
  });

  it('writes what the Buffer methods write, leaving the bytes around untouched', () => {
    for (const value of [0, 1, 0x1234, 0x8000, 0xffff]) {
      const ours = Buffer.alloc(6, 0xaa);
      const theirs = Buffer.alloc(6, 0xaa);
      setU16(ours, 2, value);
      theirs.writeUInt16BE(value, 2);
      assert.deepEqual(ours, theirs, `u16 ${value}`);
    }
    for (const value of [0, 1, 0x12345678, 0x80000000, 0xffffffff]) {
      const ours = Buffer.alloc(8, 0xaa);
      const theirs = Buffer.alloc(8, 0xaa);
      setU32(ours, 2, value);
      theirs.writeUInt32BE(value, 2);
      assert.deepEqual(ours, theirs, `u32 ${value}`);
    }
  });

  it('copies a range into place and returns its length', () => {
    const source = Buffer.from('abcdefgh');
    const target = Buffer.alloc(6, 0x2e);
    assert.equal(copyBytes(target, 1, source, 2, 6), 4);
    assert.equal(target.toString('latin1'), '.cdef.');
    assert.equal(copyBytes(target, 0, source, 3, 3), 0);
    assert.equal(target.toString('latin1'), '.cdef.');
    // Longer runs take the other path (a view of the source's memory at its own offset).
    const long = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz').subarray(1);
    const into = Buffer.alloc(40, 0x2e);
    assert.equal(copyBytes(into, 2, long, 3, 33), 30);
    assert.equal(into.toString('latin1'), '..456789abcdefghijklmnopqrstuvwx........');
  });

  it('makes a Buffer view of a range that shares the source memory', () => {
    const source = Buffer.from('0123456789').subarray(2);
    const view = viewOf(source, 1, 4);
    assert.ok(Buffer.isBuffer(view));
    assert.equal(view.toString('latin1'), '345');
    view[0] = 0x78;
    assert.equal(source.toString('latin1'), '2x456789');
    assert.equal(viewOf(source, 3, 3).length, 0);
  });

  it('copies a Buffer or a view into memory of its own', () => {
    const source = Buffer.from('0123456789').subarray(3, 7);
    const copy = copyOf(source);
    assert.ok(Buffer.isBuffer(copy));
    assert.equal(copy.toString('latin1'), '3456');
    copy[0] = 0x78;
    assert.equal(source.toString('latin1'), '3456');
  });
});
