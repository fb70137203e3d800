/**
 * Answers for zones dotstub serves itself instead of asking anyone: the locally served zones of RFC 6303
 * (reverse zones of private and special ranges), `local.` (RFC 6762) and `localhost.` (RFC 6761). Their
 * names mean nothing on the public DNS, and sending them there leaks what the machine is looking for on
 * its LAN (RFC 6303 sec. 1).
 */
import { Buffer } from 'node:buffer';
import { encodeName } from './build-query.js';
import { errorAnswer } from './edns.js';
import { HEADER_LENGTH, RCODE, type ParsedMessage, type Question } from './wire.js';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_NS = 2;
const TYPE_SOA = 6;
const CLASS_IN = 1;
/** RFC 6303 sec. 3: `@ 10800 IN SOA @ nobody.invalid. 1 3600 1200 604800 10800` and `@ 10800 IN NS @`. */
const ZONE_TTL = 10800;
const SOA_TIMERS = [1, 3600, 1200, 604800, 10800] as const;
/** RFC 6761 sec. 6.3: `localhost.` and every name under it is this machine. */
export const LOCALHOST_ZONE = 'localhost';
/** A compression pointer to the question's name, which always starts right after the header. */
const QUESTION_NAME = Buffer.from([0xc0, HEADER_LENGTH]);
const LOOPBACK: Readonly<Record<number, Buffer>> = {
  [TYPE_A]: Buffer.from([127, 0, 0, 1]),
  [TYPE_AAAA]: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
};

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
 *
 * `localhost` differs (RFC 6761 sec. 6.3 item 4): every name in it exists, address queries get the
 * loopback address at once and every other type a negative answer, NODATA here (as unbound's and
 * systemd-resolved's defaults answer).
 */
export function localZoneAnswer(query: Buffer, msg: ParsedMessage, zone: string): Buffer {
  const question = msg.question;
  const apex = question !== undefined && question.key.startsWith(`${zone.toLowerCase()}./`);
  const localhost = zone === LOCALHOST_ZONE;
  const base = errorAnswer(query, msg, apex || localhost ? RCODE.NOERROR : RCODE.NXDOMAIN);
  const split = HEADER_LENGTH + (question === undefined ? 0 : question.end - question.start);
  const head = Buffer.from(base.subarray(0, split));
  const opt = base.subarray(split);
  head[2] = (head[2] ?? 0) | 0x04; // AA
  const owner = encodeName(zone);
  const soa = soaRecord(owner);
  const answers = zoneRecords(question, owner, soa, apex, localhost);
  const authority = answers.length > 0 ? [] : [soa];
  head.writeUInt16BE(answers.length, 6);
  head.writeUInt16BE(authority.length, 8);
  return Buffer.concat([head, ...answers, ...authority, opt]);
}

/** The answer section: a localhost address, or the apex's SOA or NS; empty otherwise. */
function zoneRecords(
  question: Question | undefined,
  owner: Buffer,
  soa: Buffer,
  apex: boolean,
  localhost: boolean,
): Buffer[] {
  if (question === undefined) return [];
  const loopback = localhost && question.qclass === CLASS_IN ? LOOPBACK[question.type] : undefined;
  if (loopback !== undefined) return [record(QUESTION_NAME, question.type, loopback)];
  if (apex && question.type === TYPE_SOA) return [soa];
  if (apex && question.type === TYPE_NS) return [record(owner, TYPE_NS, owner)];
  return [];
}
