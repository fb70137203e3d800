/**
 * How long an answer may be served from the cache, and which TTL each record carries meanwhile.
 *
 * - Positive answers: the smallest TTL of the message (RFC 2181 sec. 5.2: an RRset has one TTL; sec. 8:
 *   a TTL with the top bit set counts as 0), capped by maxTtl and raised to minTtl.
 * - NXDOMAIN and NODATA (RFC 2308 sec. 5): only with the zone's SOA in the authority section, for
 *   min(SOA TTL, SOA MINIMUM) (sec. 3); the SOA goes out with that TTL, counted down. Without an SOA they
 *   are not cached at all (sec. 5: "negative responses without SOA records SHOULD NOT be cached").
 * - SERVFAIL from an upstream: a few seconds only (RFC 2308 sec. 7.1 allows up to 5 minutes; RFC 9520
 *   sec. 3.2 asks for at least 1 s), so a broken name does not hammer the upstream, nor stays broken.
 * - Anything else (REFUSED, FORMERR, NOTIMP, extended RCODEs, TC=1): never cached.
 * A lifetime of 0 means "do not cache" (RFC 1035 sec. 3.2.1).
 */
import { type RecordTtl, TYPE_SOA } from '../dns/record-ttls.js';
import { RCODE } from '../dns/wire.js';

export interface TtlLimits {
  /** Seconds. @default 86400 */
  readonly maxTtl: number;
  /** Seconds. @default 0 */
  readonly minTtl: number;
  /** Seconds an upstream SERVFAIL is kept. @default 5 */
  readonly servfailTtl: number;
}

export type EntryKind = 'positive' | 'negative' | 'servfail';

export interface CachePlan {
  readonly kind: EntryKind;
  /** Whole seconds the entry stays fresh. */
  readonly lifetime: number;
  /** Per record (same order as the RecordTtl list): the TTL it carries at store time. */
  readonly ttls: readonly number[];
}

const clamp = (ttl: number, limits: TtlLimits): number =>
  Math.min(Math.max(ttl, limits.minTtl), limits.maxTtl);

/**
 * One pass over the records, no intermediate arrays (this runs for every answer stored): each record's TTL
 * (an authority SOA's capped by its MINIMUM, RFC 2308 sec. 5) clamped to the limits, and the lowest raw one.
 */
function scan(
  records: readonly RecordTtl[],
  limits: TtlLimits,
): { ttls: number[]; hasAnswer: boolean; hasSoa: boolean; lowest: number } {
  const ttls = new Array<number>(records.length);
  let hasAnswer = false;
  let hasSoa = false;
  let lowest = Infinity;
  records.forEach((r, i) => {
    const soa = r.section === 1 && r.type === TYPE_SOA;
    const ttl = soa && r.soaMinimum !== undefined ? Math.min(r.ttl, r.soaMinimum) : r.ttl;
    if (r.section === 0) hasAnswer = true;
    if (soa) hasSoa = true;
    if (ttl < lowest) lowest = ttl;
    ttls[i] = clamp(ttl, limits);
  });
  return { ttls, hasAnswer, hasSoa, lowest };
}

/** The plan for an answer with header bytes `answer`, or undefined when it must not be cached. */
export function cachePlan(
  answer: Buffer,
  records: readonly RecordTtl[],
  extendedRcode: number,
  limits: TtlLimits,
): CachePlan | undefined {
  const truncated = ((answer[2] ?? 0) & 0x02) !== 0;
  const rcode = (answer[3] ?? 0) & 0x0f;
  if (truncated || extendedRcode !== 0) return undefined;
  if (rcode === RCODE.SERVFAIL) {
    const lifetime = Math.min(limits.servfailTtl, limits.maxTtl);
    return lifetime > 0
      ? { kind: 'servfail', lifetime, ttls: records.map((r) => Math.min(r.ttl, lifetime)) }
      : undefined;
  }
  if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return undefined;
  if (records.length === 0) return undefined;
  const { ttls, hasAnswer, hasSoa, lowest } = scan(records, limits);
  const negative = rcode === RCODE.NXDOMAIN || !hasAnswer;
  if (negative && !hasSoa) return undefined;
  const lifetime = clamp(lowest, limits);
  if (lifetime <= 0) return undefined;
  return { kind: negative ? 'negative' : 'positive', lifetime, ttls };
}
