/**
 * An answer's question matched to its query's by their bytes: the connection's in-flight table does this
 * for every answer, so answers are parsed without a key string (parseMessage(buf, false)).
 */
import { HEADER_LENGTH, type Question } from './wire.js';

/**
 * Whether two questions are the same (RFC 7766 sec. 7, RFC 5452 sec. 9.1): type and class, and the name
 * label by label, ASCII case-insensitively (RFC 4343). A question is the first name of its message, so it
 * is never compressed in practice; if either is, their keys decide.
 */
export function sameQuestion(a: Uint8Array, qa: Question, b: Uint8Array, qb: Question): boolean {
  if (qa.type !== qb.type || qa.qclass !== qb.qclass) return false;
  let i = qa.start;
  let j = qb.start;
  for (;;) {
    const len = a[i] ?? 0;
    if (len > 63 || (b[j] ?? 0) > 63) return qa.key === qb.key;
    if (len !== b[j]) return false;
    if (len === 0) return true;
    if (!sameLabel(a, i + 1, b, j + 1, len)) return false;
    i += len + 1;
    j += len + 1;
  }
}

/**
 * Whether the name at a[i], which may be compressed (RFC 1035 sec. 4.1.4), is the uncompressed name at
 * stored[j], label by label and ASCII case-insensitively. `a` is a parsed message (its pointers point back,
 * checked by the parse); the hop cap is a backstop. For the in-flight table's copies, which hold no
 * pointers: an answer is then matched by bytes alone, whatever its server did with the question.
 */
export function sameNameExpanding(a: Uint8Array, i: number, stored: Uint8Array, j: number): boolean {
  for (let hops = 0; ;) {
    const len = a[i] ?? 0;
    if ((len & 0xc0) === 0xc0) {
      if (++hops > 64) return false;
      i = ((len & 0x3f) << 8) | (a[i + 1] ?? 0);
      continue;
    }
    if (len > 63 || len !== stored[j]) return false;
    if (len === 0) return true;
    if (!sameLabel(a, i + 1, stored, j + 1, len)) return false;
    i += len + 1;
    j += len + 1;
  }
}

function sameLabel(a: Uint8Array, i: number, b: Uint8Array, j: number, len: number): boolean {
  for (let k = 0; k < len; k++) {
    const x = a[i + k] ?? 0;
    const y = b[j + k] ?? 0;
    if (x === y) continue;
    // Only letters fold: '@' (0x40) and '`' (0x60), say, differ by the same bit and are not one.
    const lower = x | 0x20;
    if (lower !== (y | 0x20) || lower < 0x61 || lower > 0x7a) return false;
  }
  return true;
}

/**
 * Copies the question name of `query` (its octets as sent, from the header's end) to `to` at `at` if it is
 * uncompressed and at most `room` octets with its final zero; returns whether it did.
 */
export function copyQuestionName(query: Uint8Array, to: Uint8Array, at: number, room: number): boolean {
  let n = 0;
  for (;;) {
    const len = query[HEADER_LENGTH + n] ?? 0;
    if (len > 63 || n + len + 1 > room) return false;
    for (let k = 0; k <= len; k++) to[at + n + k] = query[HEADER_LENGTH + n + k] ?? 0;
    n += len + 1;
    if (len === 0) return true;
  }
}
