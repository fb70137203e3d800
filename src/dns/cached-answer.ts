/**
 * The two wire edits a cache needs: an upstream answer made shareable between clients once, at store time,
 * and a stored answer made one client's own at hit time. Both work on raw bytes, as the rest of the data
 * path does; nothing is re-encoded.
 */
import { withoutOpt, withoutOptions } from './edns.js';
import type { ParsedMessage } from './wire.js';
import { copyBytes, copyOf, setU16, setU32 } from './bytes.js';

/**
 * EDNS options that belong to one client's exchange and must never reach another client: client subnet
 * (RFC 7871, option 8: the answer is scoped to one network), COOKIE (RFC 7873, option 10: the server cookie
 * is minted for one client), and the hop-by-hop keepalive and padding (RFC 7828, RFC 7830: options 11, 12).
 */
const isPerClient = (code: number): boolean => code === 8 || code === 10 || code === 11 || code === 12;

/**
 * The upstream's answer without per-client options: what a cache keeps and serves to everyone. When there
 * is nothing to strip this is `answer` itself, not a copy: the callers copy it anyway (the cache into its
 * slabs, answerForClient for each client).
 */
export function shareableAnswer(answer: Buffer, msg: ParsedMessage): Buffer {
  if (msg.opt?.some(isPerClient) !== true) return answer;
  return withoutOptions(answer, msg, isPerClient);
}

/**
 * A stored answer as this client must see it: its ID, its question bytes (case kept, so a client using
 * 0x20 mixed case recognises its answer), RD and CD as it sent them (RFC 1035 sec. 4.1.1, RFC 4035 sec.
 * 3.2.2), the TTL fields given, and no OPT when it sent none (RFC 6891 sec. 7). Not yet truncated.
 */
export function answerForClient(
  stored: Buffer,
  storedMsg: ParsedMessage,
  ttls: { readonly offsets: readonly number[]; readonly values: readonly number[] },
  query: Buffer,
  queryMsg: ParsedMessage,
): Buffer {
  const out = copyOf(stored);
  ttls.offsets.forEach((offset, i) => {
    setU32(out, offset, ttls.values[i] ?? 0);
  });
  setU16(out, 0, queryMsg.id);
  out[2] = ((out[2] ?? 0) & ~0x01) | ((query[2] ?? 0) & 0x01);
  out[3] = ((out[3] ?? 0) & ~0x10) | ((query[3] ?? 0) & 0x10);
  const q = queryMsg.question;
  const s = storedMsg.question;
  // Equal names (case aside) have equal wire lengths, and the question is never compressed: a plain copy.
  if (q !== undefined && s !== undefined && q.end - q.start === s.end - s.start)
    copyBytes(out, s.start, query, q.start, q.end);
  if (queryMsg.opt === undefined && storedMsg.opt !== undefined)
    return withoutOpt(out, storedMsg.opt, storedMsg.arcount);
  return out;
}
