/**
 * An answer's question matched to its query's by their bytes: the connection's in-flight table does this
 * for every answer, so answers are parsed without a key string (parseMessage(buf, false)).
 */
import type { Question } from './wire.js';

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
