/**
 * Answers for zones dotstub serves itself instead of asking anyone: the locally served zones of RFC 6303
 * (reverse zones of private and special ranges) and `local.` (RFC 6762). Their names mean nothing on the
 * public DNS, and sending them there leaks what the machine is looking for on its LAN (RFC 6303 sec. 1).
 */
import { encodeName } from './build-query.js';
import { errorAnswer } from './edns.js';
import { HEADER_LENGTH, RCODE, type ParsedMessage } from './wire.js';

const TYPE_NS = 2;
const TYPE_SOA = 6;
const CLASS_IN = 1;
/** RFC 6303 sec. 3: `@ 10800 IN SOA @ nobody.invalid. 1 3600 1200 604800 10800` and `@ 10800 IN NS @`. */
const ZONE_TTL = 10800;
const SOA_TIMERS = [1, 3600, 1200, 604800, 10800] as const;

function record(owner: Buffer, type: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(ZONE_TTL, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

function soaRecord(zone: Buffer): Buffer {
  const timers = Buffer.alloc(20);
  SOA_TIMERS.forEach((value, i) => timers.writeUInt32BE(value, i * 4));
  return record(zone, TYPE_SOA, Buffer.concat([zone, encodeName('nobody.invalid.'), timers]));
}

/**
 * The answer to `query` for a name inside the locally served `zone` (presentation form, `10.in-addr.arpa`):
 * below the apex NXDOMAIN with the zone's SOA for negative caching (RFC 2308 sec. 3); at the apex its SOA or
 * NS, or NODATA. Authoritative (AA=1), as RFC 6303 sec. 3 describes a local zone.
 */
export function localZoneAnswer(query: Buffer, msg: ParsedMessage, zone: string): Buffer {
  const question = msg.question;
  const apex = question !== undefined && question.key.startsWith(`${zone.toLowerCase()}./`);
  const base = errorAnswer(query, msg, apex ? RCODE.NOERROR : RCODE.NXDOMAIN);
  const split = HEADER_LENGTH + (question === undefined ? 0 : question.end - question.start);
  const head = Buffer.from(base.subarray(0, split));
  const opt = base.subarray(split);
  head[2] = (head[2] ?? 0) | 0x04; // AA
  const owner = encodeName(zone);
  const soa = soaRecord(owner);
  let answers: Buffer[] = [];
  if (apex && question.type === TYPE_SOA) answers = [soa];
  else if (apex && question.type === TYPE_NS) answers = [record(owner, TYPE_NS, owner)];
  const authority = answers.length > 0 ? [] : [soa];
  head.writeUInt16BE(answers.length, 6);
  head.writeUInt16BE(authority.length, 8);
  return Buffer.concat([head, ...answers, ...authority, opt]);
}
