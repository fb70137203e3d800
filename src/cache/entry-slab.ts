/**
 * The bytes of cached answers, packed into slabs of their own.
 *
 * A Buffer.from() copy of a small answer comes from Node's shared 8 KiB pool, and lives in it beside the
 * short-lived buffers of the queries around it: a long-lived cache entry then keeps a whole slab alive for
 * its few hundred bytes. Measured: 12,822 entries (a full cache at the default 16 MiB) held 4.65 MB of
 * buffer memory for about 1.3 MB of answers. Here a slab holds only cache entries, which the LRU evicts
 * in about the order they were stored, so slabs fill densely and go in order.
 */
import { Buffer } from 'node:buffer';
import { copyBytes } from '../dns/bytes.js';
const SLAB_BYTES = 8192;
/** Larger answers get a buffer of their own: they would waste most of a slab's tail. */
const OWN_BUFFER_FROM = 1024;
const EMPTY = Buffer.alloc(0);

export class EntrySlab {
  #slab: Buffer | undefined;
  #used = SLAB_BYTES;
  #last: Buffer = EMPTY;

  /**
   * Copies `bytes` into memory shared only with other cached answers and returns the offset of the copy in
   * `last`, the buffer written to (a shared slab, or one of its own for a large answer). An offset, not a
   * Buffer view: a view is about 90 bytes of heap, and a full cache holds some 12,800 entries.
   */
  store(bytes: Buffer): number {
    const n = bytes.length;
    if (n >= OWN_BUFFER_FROM) {
      this.#last = Buffer.allocUnsafeSlow(n);
      copyBytes(this.#last, 0, bytes, 0, n);
      return 0;
    }
    if (this.#slab === undefined || this.#used + n > SLAB_BYTES) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.#used = 0;
    }
    const at = this.#used;
    copyBytes(this.#slab, at, bytes, 0, n);
    this.#used += n;
    this.#last = this.#slab;
    return at;
  }

  /** The buffer the last store() wrote to. */
  get last(): Buffer {
    return this.#last;
  }
}
