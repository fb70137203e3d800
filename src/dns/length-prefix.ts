/**
 * RFC 1035 sec. 4.2.2 / RFC 7766 sec. 8 framing: every message over TCP or TLS carries a 2-octet length.
 */
import { Buffer } from 'node:buffer';
import { copyBytes, setU16, viewOf } from './bytes.js';
export const MAX_FRAME = 0xffff;

/** The prefix and the message in one buffer, so a single write sends both (RFC 7766 sec. 8). */
export function encodeFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  setU16(out, 0, message.length);
  copyBytes(out, 2, message, 0, message.length);
  return out;
}

/**
 * Several messages, each with its prefix, in one buffer: queries sent in the same event-loop turn leave in
 * one write, so over TLS one record and one syscall carry them all.
 */
export function encodeFrames(messages: readonly Buffer[]): Buffer {
  let bytes = 0;
  for (const message of messages) bytes += message.length + 2;
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const message of messages) {
    setU16(out, at, message.length);
    copyBytes(out, at + 2, message, 0, message.length);
    at += message.length + 2;
  }
  return out;
}

/** What a chunk that completes no frame returns: one shared, frozen list. */
const NO_FRAMES: readonly Buffer[] = Object.freeze([]);

/**
 * Splits a byte stream into messages. Chunks may hold many frames or a fraction of one; `pending` tells
 * how many bytes wait for the rest of a frame (for partial-frame timeouts).
 */
export class FrameDecoder {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;

  get pending(): number {
    return this.#buffered;
  }

  /** Feeds a chunk and returns every complete frame it finished. A zero-length frame comes back empty. */
  push(chunk: Buffer): readonly Buffer[] {
    const frames: Buffer[] = [];
    this.each(chunk, (frame) => frames.push(frame));
    return frames.length === 0 ? NO_FRAMES : frames;
  }

  /**
   * Feeds a chunk and calls `onFrame` with every complete frame it finished, in order: no list per chunk.
   * The upstream connection decodes every answer this way (a one-frame list was 56 bytes an answer).
   */
  each(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let bytes = chunk;
    if (this.#chunks.length > 0) {
      // Part of a frame waits: join only once it is complete, so a dribbled frame costs O(n), not O(n^2).
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered < 2 || this.#buffered < ((this.#byteAt(0) << 8) | this.#byteAt(1)) + 2) return;
      bytes = Buffer.concat(this.#chunks);
      this.#chunks.length = 0;
    }
    // Walks the chunk by offset: one view per frame (slicing the rest after each frame made two more).
    let at = 0;
    while (bytes.length - at >= 2) {
      const end = at + 2 + (((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0));
      if (end > bytes.length) break;
      onFrame(viewOf(bytes, at + 2, end));
      at = end;
    }
    if (at < bytes.length) this.#chunks.push(at === 0 ? bytes : bytes.subarray(at));
    this.#buffered = bytes.length - at;
  }

  // Reads a prefix byte without joining chunks, so a frame dribbled in one byte at a time costs O(n).
  #byteAt(i: number): number {
    let index = i;
    for (const chunk of this.#chunks) {
      if (index < chunk.length) return chunk[index] ?? 0;
      index -= chunk.length;
    }
    return 0;
  }
}

/**
 * The pull form of FrameDecoder, for a reader that starts only as many frames as it may: bytes wait here
 * as the chunks they came in, and a frame becomes a Buffer (a view) only when next() takes it. A stream
 * client paused with hundreds of pipelined queries unread holds its chunks, not an object per query that
 * would outlive scavenges and be promoted.
 */
export class FrameQueue {
  readonly #chunks: Buffer[] = [];
  /** Where the unread bytes start in the first chunk. */
  #offset = 0;
  #buffered = 0;

  /** Bytes not yet taken: whole frames that wait, and a partial one. */
  get pending(): number {
    return this.#buffered;
  }

  feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Whether a whole frame waits. */
  get ready(): boolean {
    return this.#buffered >= 2 && this.#buffered >= this.#frameLength() + 2;
  }

  /** The next whole frame (an empty Buffer for a zero-length one), or undefined while none is complete. */
  next(): Buffer | undefined {
    if (!this.ready) return undefined;
    const length = this.#frameLength();
    let first = this.#chunks[0] as Buffer;
    if (first.length - this.#offset < length + 2) {
      // The frame spans chunks: join what is buffered once, now that the frame is complete.
      this.#chunks[0] = first.subarray(this.#offset);
      first = Buffer.concat(this.#chunks);
      this.#chunks.length = 0;
      this.#chunks.push(first);
      this.#offset = 0;
    }
    const start = this.#offset + 2;
    const frame = viewOf(first, start, start + length);
    this.#offset = start + length;
    this.#buffered -= length + 2;
    if (this.#offset === first.length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
    return frame;
  }

  #frameLength(): number {
    return (this.#byteAt(0) << 8) | this.#byteAt(1);
  }

  #byteAt(i: number): number {
    let index = i + this.#offset;
    for (const chunk of this.#chunks) {
      if (index < chunk.length) return chunk[index] ?? 0;
      index -= chunk.length;
    }
    return 0;
  }
}
