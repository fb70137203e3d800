/**
 * A small, strict reader for DNS messages in wire format (RFC 1035 sec. 4.1). The forwarding path keeps the
 * client's bytes and only reads or edits the few fields it must (ID, flags, question, OPT), so nothing is
 * ever re-encoded (dns-packet re-encoding is lossy: ../../../shared/reliability-and-deps.md sec. 1.1).
 */
import { Buffer } from 'node:buffer';
import { u16, u32 } from './bytes.js';
import { MalformedMessageError } from './malformed.js';
import { OptRecord, type EdnsOption } from './opt-record.js';

export const HEADER_LENGTH = 12;
export const TYPE_OPT = 41;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** The largest UDP answer a client without EDNS(0) accepts (RFC 1035 sec. 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

export { MalformedMessageError };
export type { EdnsOption };
export { OptRecord };

export interface Question {
  /** Offset of the first byte of QNAME. */
  readonly start: number;
  /** Offset just past QCLASS. */
  readonly end: number;
  readonly type: number;
  readonly qclass: number;
  /** Lower-cased name, type and class: what RFC 7766 sec. 7 matches an answer to its query by. */
  readonly key: string;
}

export interface ParsedMessage {
  readonly id: number;
  readonly question: Question | undefined;
  readonly opt: OptRecord | undefined;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

export const isResponse = (buf: Uint8Array): boolean => ((buf[2] ?? 0) & 0x80) !== 0;
export const opcodeOf = (buf: Uint8Array): number => ((buf[2] ?? 0) >> 3) & 0x0f;

function pointerTarget(buf: Buffer, pos: number, hops: number): number {
  if (pos + 1 >= buf.length) throw new MalformedMessageError('truncated compression pointer');
  const target = (((buf[pos] ?? 0) & 0x3f) << 8) | (buf[pos + 1] ?? 0);
  // Only pointers to earlier bytes are legal (RFC 1035 sec. 4.1.4); the hop cap stops loops.
  if (target >= pos || hops > 64)
    throw new MalformedMessageError('compression pointer loop or forward pointer');
  return target;
}

/**
 * Reads (and validates) a possibly compressed name at `offset`; returns where it ends in place. With
 * `wantKey`, the name's key is left in keyScratch, keyLength octets long. No object per name: this runs for
 * every record of every message.
 */
function readName(buf: Buffer, offset: number, wantKey: boolean): number {
  let pos = offset;
  let end = -1;
  let hops = 0;
  let wireLength = 0;
  keyLength = 0;
  for (;;) {
    if (pos >= buf.length) throw new MalformedMessageError('name runs past the end');
    const len = buf[pos] ?? 0;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = pos + 2;
      pos = pointerTarget(buf, pos, ++hops);
      continue;
    }
    if ((len & 0xc0) !== 0) throw new MalformedMessageError('reserved label type');
    wireLength += len + 1;
    if (wireLength > 254) throw new MalformedMessageError('name longer than 255 octets');
    if (pos + 1 + len > buf.length) throw new MalformedMessageError('label runs past the end');
    if (wantKey) keyLength = lowerLabel(buf, pos + 1, len, keyLength);
    pos += len + 1;
  }
  return end;
}

/**
 * Where a question's key is assembled: a name is at most 255 octets (RFC 1035 sec. 2.3.4), then
 * `/TYPE/CLASS` in decimal.
 */
const keyScratch = Buffer.alloc(256 + 12);
let keyLength = 0;

/** Writes `/` and `n` in decimal at keyScratch[at]; returns the new end. */
function appendNumber(at: number, n: number): number {
  keyScratch[at++] = 0x2f;
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
  for (let i = digits - 1, v = n; i >= 0; i--, v = Math.floor(v / 10)) keyScratch[at + i] = 0x30 + (v % 10);
  return at + digits;
}

/**
 * Copies a label, ASCII-only case folded (RFC 4343: other octets compare as they are), and its dot into
 * keyScratch at `at`; returns the new end. The key is then one latin1 string made at once, instead of a
 * string built a character at a time: name keys cost half as much (1.9 -> 0.9 us for a 30-octet name,
 * micro-benchmark), and parseMessage runs on every query and every answer.
 */
function lowerLabel(buf: Buffer, start: number, len: number, at: number): number {
  let n = at;
  for (let i = start; i < start + len; i++) {
    const c = buf[i] ?? 0;
    keyScratch[n++] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  keyScratch[n++] = 0x2e;
  return n;
}

/** The key of the name keyScratch holds (keyLength octets), with its type and class. */
function scratchKey(type: number, qclass: number): string {
  // The root is '.'; then `/type/class`, all in one string.
  if (keyLength === 0) keyScratch[keyLength++] = 0x2e;
  const length = appendNumber(appendNumber(keyLength, type), qclass);
  return keyScratch.toString('latin1', 0, length);
}

/**
 * A parsed message, and its question too: `question` is the message itself (or undefined without one),
 * so a parse makes one object, not two. Parsing runs for every query and every answer, and a query's
 * parse lives until its answer: the second object was about 70 bytes of each, and under load the young
 * generation's collector copies, then promotes, what a query in flight holds.
 *
 * The key is made when first read for answers: an answer's question is matched to its query's by bytes
 * (question-match.ts), so the key string (about half of what parsing an answer cost) is made only for what
 * asks for it; a query's key is always wanted (cache, routing) and made at once.
 */
class WireMessage implements ParsedMessage, Question {
  readonly id: number;
  readonly opt: OptRecord | undefined;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
  /** Just past QCLASS; HEADER_LENGTH when there is no question (a question takes at least 5 octets). */
  readonly end: number;
  readonly type: number;
  readonly qclass: number;
  #key: string | undefined;
  readonly #buf: Buffer | undefined;

  /** Without a question (`hasQuestion` false), `end` is the header's end and type and class are 0. */
  constructor(
    buf: Buffer,
    ancount: number,
    nscount: number,
    arcount: number,
    opt: OptRecord | undefined,
    hasQuestion: boolean,
    end: number,
    type: number,
    qclass: number,
    key: string | undefined,
  ) {
    this.id = u16(buf, 0);
    this.opt = opt;
    this.ancount = ancount;
    this.nscount = nscount;
    this.arcount = arcount;
    this.end = hasQuestion ? end : HEADER_LENGTH;
    this.type = type;
    this.qclass = qclass;
    this.#key = key;
    this.#buf = key === undefined && hasQuestion ? buf : undefined;
  }

  get question(): Question | undefined {
    return this.end > HEADER_LENGTH ? this : undefined;
  }

  /** The question follows the header (RFC 1035 sec. 4.1.1): a constant, not a field of every message. */
  get start(): number {
    return HEADER_LENGTH;
  }

  get key(): string {
    if (this.#key === undefined) {
      readName(this.#buf as Buffer, this.start, true);
      this.#key = scratchKey(this.type, this.qclass);
    }
    return this.#key;
  }
}

/** Walks every record; returns where they end and the OPT record if there is one, rejecting anything out of bounds. */
function readRecords(
  buf: Buffer,
  offset: number,
  ancount: number,
  nscount: number,
  arcount: number,
): { end: number; opt: OptRecord | undefined } {
  let pos = offset;
  let opt: OptRecord | undefined;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const start = pos;
    const nameEnd = readName(buf, pos, false);
    if (nameEnd + 10 > buf.length) throw new MalformedMessageError('record header runs past the end');
    const type = u16(buf, nameEnd);
    const rdlength = u16(buf, nameEnd + 8);
    pos = nameEnd + 10 + rdlength;
    if (pos > buf.length) throw new MalformedMessageError('record data runs past the end');
    if (type !== TYPE_OPT) continue;
    // RFC 6891 sec. 6.1.1: one OPT, in the additional section, owned by the root.
    if (i < ancount + nscount || opt !== undefined || nameEnd !== start + 1)
      throw new MalformedMessageError('misplaced or repeated OPT record');
    opt = new OptRecord(buf, start, nameEnd + 10, pos, u16(buf, nameEnd + 2), u32(buf, nameEnd + 4));
  }
  return { end: pos, opt };
}

/**
 * Parses a whole message strictly: every count honoured, every byte accounted for, no trailing garbage.
 * `keyed: false` leaves the question's key to be made when first read (answers: see WireMessage).
 */
export function parseMessage(buf: Buffer, keyed = true): ParsedMessage {
  if (buf.length < HEADER_LENGTH) throw new MalformedMessageError('shorter than a header');
  const qdcount = u16(buf, 4);
  const ancount = u16(buf, 6);
  const nscount = u16(buf, 8);
  const arcount = u16(buf, 10);
  if (qdcount > 1) throw new MalformedMessageError('more than one question');
  let qEnd = HEADER_LENGTH;
  let type = 0;
  let qclass = 0;
  let key: string | undefined;
  if (qdcount === 1) {
    const nameEnd = readName(buf, HEADER_LENGTH, keyed);
    if (nameEnd + 4 > buf.length) throw new MalformedMessageError('question runs past the end');
    type = u16(buf, nameEnd);
    qclass = u16(buf, nameEnd + 2);
    qEnd = nameEnd + 4;
    if (keyed) key = scratchKey(type, qclass);
  }
  const records = readRecords(buf, qEnd, ancount, nscount, arcount);
  if (records.end !== buf.length) throw new MalformedMessageError('trailing bytes after the last record');
  return new WireMessage(buf, ancount, nscount, arcount, records.opt, qdcount === 1, qEnd, type, qclass, key);
}

/** The UDP payload size a client accepts: its EDNS(0) size, never below 512 (RFC 6891 sec. 6.2.5). */
export function clientUdpLimit(query: ParsedMessage): number {
  return query.opt === undefined ? CLASSIC_UDP_SIZE : Math.max(CLASSIC_UDP_SIZE, query.opt.udpSize);
}
