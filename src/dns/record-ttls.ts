/**
 * Where the TTLs of a message are, for a cache that stores an answer's bytes once and rewrites only its TTL
 * fields on every hit. Reads a message parseMessage has already validated, so names need no checks here.
 */
import { HEADER_LENGTH, TYPE_OPT, type ParsedMessage } from './wire.js';
import { u16, u32 } from './bytes.js';

export const TYPE_SOA = 6;

export interface RecordTtl {
  /** Offset of the record's 32-bit TTL field. */
  readonly offset: number;
  /** The TTL as sent; RFC 2181 sec. 8: a value with the top bit set is treated as zero. */
  readonly ttl: number;
  /** 0 answer, 1 authority, 2 additional. */
  readonly section: 0 | 1 | 2;
  readonly type: number;
  /** For an SOA record: its MINIMUM field (RFC 1035 sec. 3.3.13), the negative-caching TTL of RFC 2308. */
  readonly soaMinimum?: number | undefined;
}

function skipName(buf: Buffer, pos: number): number {
  for (;;) {
    const len = buf[pos] ?? 0;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2;
    pos += len + 1;
  }
}

const ttlValue = (raw: number): number => (raw > 0x7fffffff ? 0 : raw);

/** Every record but OPT (whose TTL field holds EDNS flags, RFC 6891 sec. 6.1.3), in message order. */
export function recordTtls(buf: Buffer, msg: ParsedMessage): RecordTtl[] {
  const out: RecordTtl[] = [];
  let pos = msg.question?.end ?? HEADER_LENGTH;
  const counts = [msg.ancount, msg.nscount, msg.arcount] as const;
  for (const section of [0, 1, 2] as const) {
    for (let i = 0; i < counts[section]; i++) {
      const nameEnd = skipName(buf, pos);
      const type = u16(buf, nameEnd);
      const rdlength = u16(buf, nameEnd + 8);
      pos = nameEnd + 10 + rdlength;
      if (type === TYPE_OPT) continue;
      // MINIMUM is the last field of SOA RDATA, after two names that may be compressed.
      const soaMinimum = type === TYPE_SOA && rdlength >= 4 ? ttlValue(u32(buf, pos - 4)) : undefined;
      out.push({
        offset: nameEnd + 4,
        ttl: ttlValue(u32(buf, nameEnd + 4)),
        section,
        type,
        soaMinimum,
      });
    }
  }
  return out;
}
