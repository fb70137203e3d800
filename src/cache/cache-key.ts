/**
 * What makes two queries share a cached answer: the name (case-insensitively, RFC 4343), type and class,
 * and the header and EDNS bits that change the answer: DO (RFC 3225: DNSSEC records or not), CD (RFC 4035
 * sec. 3.2.2: validation off) and AD (RFC 6840 sec. 5.7: the AD bit answers only a query that asked for it).
 * The privacy partition is added by the store (see privacy.ts).
 */
import type { ParsedMessage } from '../dns/wire.js';

/**
 * Zone transfers (IXFR 251, AXFR 252) and MAILB/MAILA (253, 254) are never answered from a cache: one
 * range, compared rather than looked up in a Set (a hash lookup on every query).
 */
const isUncachedType = (type: number): boolean => type >= 251 && type <= 254;
/** EDNS client subnet (RFC 7871): the answer is scoped to one network, so a shared cache stays out. */
const OPTION_CLIENT_SUBNET = 8;
const DO_BIT = 0x8000;

/** name/type/class, plus `|` and the flag bits when any is set: the same for every privacy partition. */
export type QueryKey = string;

/** The cache key of a standard query, or undefined when its answer must not come from a cache. */
export function queryKey(raw: Buffer, msg: ParsedMessage): QueryKey | undefined {
  const q = msg.question;
  if (q === undefined || isUncachedType(q.type)) return undefined;
  const opt = msg.opt;
  if (opt !== undefined) for (const o of opt.options) if (o.code === OPTION_CLIENT_SUBNET) return undefined;
  const dnssecOk = ((opt?.ttlField ?? 0) & DO_BIT) !== 0;
  const flags = (raw[3] ?? 0) & 0x30; // AD 0x20, CD 0x10
  return flags === 0 && !dnssecOk ? q.key : `${q.key}|${dnssecOk ? 'do' : ''}${flags}`;
}

/** A user's name as the key spells it: lower case (ASCII only, RFC 4343), ending with a dot. */
export function normaliseName(name: string): string {
  const lower = name.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return lower.endsWith('.') ? lower : `${lower}.`;
}
