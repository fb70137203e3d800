/**
 * Big-endian fields and copies for the per-query path, without Buffer methods. In V8's optimised code
 * every property a Buffer finds on its prototype chain (Buffer's readUInt16BE, writeUInt16BE, copy and
 * fill, and TypedArray's set, subarray, buffer and byteOffset) stayed a generic load (a LoadIC call) and
 * a call to an unknown function (--print-opt-code of parseMessage and rewriteOpt), on Buffers made in C++
 * (datagrams) and in JavaScript alike; `length` and indexed bytes were inlined. So fields are read and
 * written by index, and copies call TypedArray's functions directly. Callers check bounds first, as the
 * methods would have: an index past the end reads 0 here instead of throwing.
 */
import { Buffer } from 'node:buffer';

export function u16(buf: Uint8Array, at: number): number {
  return ((buf[at] ?? 0) << 8) | (buf[at + 1] ?? 0);
}

export function u32(buf: Uint8Array, at: number): number {
  return (
    (buf[at] ?? 0) * 0x1000000 + (((buf[at + 1] ?? 0) << 16) | ((buf[at + 2] ?? 0) << 8) | (buf[at + 3] ?? 0))
  );
}

export function setU16(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 8;
  buf[at + 1] = value;
}

export function setU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

/**
 * Copies source[start, end) to target at `at` and returns the count, with TypedArray's set called
 * directly: the source itself for a whole copy, else a Uint8Array over its memory (not subarray, which on a
 * Buffer also looks up Symbol.species, Node giving Buffers their own constructor).
 */
export function copyBytes(
  target: Uint8Array,
  at: number,
  source: Uint8Array,
  start: number,
  end: number,
): number {
  const n = end - start;
  // Nothing to copy (an OPT record last in its message, the usual case, leaves no tail): no view, no call.
  if (n === 0) return 0;
  const from =
    start === 0 && n === source.length
      ? source
      : new Uint8Array(bufferOf.call(source), byteOffsetOf.call(source) + start, n);
  typedArraySet.call(target, from, at);
  return n;
}

/**
 * Sets target[start, end) to 0 with TypedArray's fill called directly: the 68 octets that pad a typical
 * query to 128 took 58.6 ns by index and 25 ns this way (Node 20, micro-benchmark).
 */
export function zeroBytes(target: Uint8Array, start: number, end: number): void {
  if (end > start) typedArrayFill.call(target, 0, start, end);
}

/** A copy of `source` in a Buffer of its own (Buffer.from(buffer) without its type checks and generic loads). */
export function copyOf(source: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(source.length);
  typedArraySet.call(out, source, 0);
  return out;
}

/**
 * A Buffer over source[start, end), sharing its memory: subarray without the property load and the
 * Symbol.species lookup that Buffer's inherited subarray makes (see copyBytes).
 */
export function viewOf(source: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bufferOf.call(source), byteOffsetOf.call(source) + start, end - start);
}

// Taken off the prototypes once, to be called with .call (see copyBytes): unbound on purpose.
// eslint-disable-next-line @typescript-eslint/unbound-method
const typedArraySet = Uint8Array.prototype.set;
// eslint-disable-next-line @typescript-eslint/unbound-method
const typedArrayFill = Uint8Array.prototype.fill;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

function typedArrayGetter(name: string): (this: Uint8Array) => unknown {
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const get = Object.getOwnPropertyDescriptor(typedArrayPrototype, name)?.get;
  if (get === undefined) throw new TypeError(`TypedArray.prototype.${name} is not a getter`);
  return get as (this: Uint8Array) => unknown;
}

const bufferOf = typedArrayGetter('buffer') as (this: Uint8Array) => ArrayBufferLike;
const byteOffsetOf = typedArrayGetter('byteOffset') as (this: Uint8Array) => number;
