/**
 * Big-endian fields read and written by index. The Buffer methods (readUInt16BE and kin) cost a generic
 * property load and a call on the forwarding path: the datagrams Node reads are Buffers made in C++ and
 * frames are Buffers made in JavaScript, two object shapes, and V8's optimising compiler then left every
 * `buf.readUInt16BE` a LoadIC call (--print-opt-code of parseMessage). Indexed byte access compiles to
 * plain loads for both. Callers check bounds first, as the methods would have: an index past the end
 * reads 0 here instead of throwing.
 */
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
 * Copies source[start, end) to target at `at` and returns the count. Neither Buffer's copy nor subarray:
 * both were generic calls from optimised code like the read and write methods above (subarray on a Buffer
 * also looks up Symbol.species, as Node gives Buffers their own constructor), where a plain Uint8Array
 * view of the same memory and TypedArray set are inlined.
 */
export function copyBytes(
  target: Uint8Array,
  at: number,
  source: Uint8Array,
  start: number,
  end: number,
): number {
  target.set(new Uint8Array(source.buffer, source.byteOffset + start, end - start), at);
  return end - start;
}
