/**
 * A whole DNS message in presentation form (RFC 1035 sec. 5.1, RFC 3597 for types we do not spell out),
 * for people and JSON: `dotstub query` shows answers with it. Reads only; never re-encodes anything.
 */
import { className, opcodeName, rcodeName, typeName } from './rr-types.js';
import { HEADER_LENGTH, MalformedMessageError, TYPE_OPT } from './wire.js';

export interface RecordView {
  readonly name: string;
  readonly type: string;
  readonly class: string;
  readonly ttl: number;
  /** The RDATA in presentation form; `\# LENGTH HEX` (RFC 3597) for types without a text form here. */
  readonly data: string;
}

export interface EdnsView {
  readonly version: number;
  readonly udpSize: number;
  readonly flags: readonly string[];
  /** Option codes with their data in hex. */
  readonly options: readonly { readonly code: number; readonly data: string }[];
}

export interface MessageView {
  readonly id: number;
  readonly opcode: string;
  /** With EDNS, the extended RCODE (RFC 6891 sec. 6.1.3). */
  readonly rcode: string;
  readonly flags: readonly string[];
  readonly question: { readonly name: string; readonly type: string; readonly class: string } | undefined;
  readonly answer: readonly RecordView[];
  readonly authority: readonly RecordView[];
  /** Without the OPT pseudo-record, which is `edns`. */
  readonly additional: readonly RecordView[];
  readonly edns: EdnsView | undefined;
}

/** RFC 1035 sec. 5.1 escapes: in a label, `.` and the other specials; in a quoted string, only `"` and `\\`. */
function escapeText(buf: Buffer, start: number, end: number, quoted = false): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i] ?? 0;
    const special = quoted ? c === 0x22 || c === 0x5c : '."\\();@'.includes(String.fromCharCode(c));
    if (special) s += `\\${String.fromCharCode(c)}`;
    else if (c < 0x20 || c >= 0x7f || (c === 0x20 && !quoted)) s += `\\${String(c).padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

/** A possibly compressed name at `offset`: its presentation form and where it ends in place. */
function readName(buf: Buffer, offset: number): { name: string; end: number } {
  let pos = offset;
  let end = -1;
  let hops = 0;
  let name = '';
  for (;;) {
    const len = buf[pos];
    if (len === undefined) throw new MalformedMessageError('name runs past the end');
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = pos + 2;
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] ?? 0);
      if (target >= pos || ++hops > 64) throw new MalformedMessageError('bad compression pointer');
      pos = target;
      continue;
    }
    if (pos + 1 + len > buf.length) throw new MalformedMessageError('label runs past the end');
    name += `${escapeText(buf, pos + 1, pos + 1 + len)}.`;
    pos += len + 1;
  }
  return { name: name === '' ? '.' : name, end: end < 0 ? pos + 1 : end };
}

function ipv6(buf: Buffer, start: number): string {
  const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(start + 2 * i));
  // RFC 5952 sec. 4.2: the longest run of two or more zero groups becomes '::' (the first one on a tie).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

function characterStrings(buf: Buffer, start: number, end: number): string {
  const out: string[] = [];
  for (let pos = start; pos < end;) {
    const len = buf[pos] ?? 0;
    if (pos + 1 + len > end) throw new MalformedMessageError('character-string runs past its record');
    out.push(`"${escapeText(buf, pos + 1, pos + 1 + len, true)}"`);
    pos += 1 + len;
  }
  return out.join(' ');
}

const generic = (buf: Buffer, start: number, end: number): string =>
  end === start ? '\\# 0' : `\\# ${end - start} ${buf.toString('hex', start, end).toUpperCase()}`;

/** RDATA in presentation form for the common types; RFC 3597 generic form for the rest. */
function rdataText(buf: Buffer, type: number, start: number, end: number): string {
  const len = end - start;
  switch (type) {
    case 1:
      return len === 4 ? [...buf.subarray(start, end)].join('.') : generic(buf, start, end);
    case 28:
      return len === 16 ? ipv6(buf, start) : generic(buf, start, end);
    case 2:
    case 5:
    case 12:
    case 39:
      return readName(buf, start).name;
    case 15:
      return `${buf.readUInt16BE(start)} ${readName(buf, start + 2).name}`;
    case 16:
    case 99:
      return characterStrings(buf, start, end);
    case 6: {
      const mname = readName(buf, start);
      const rname = readName(buf, mname.end);
      const nums = [0, 1, 2, 3, 4].map((i) => buf.readUInt32BE(rname.end + 4 * i));
      return `${mname.name} ${rname.name} ${nums.join(' ')}`;
    }
    case 33: {
      const [priority, weight, port] = [0, 2, 4].map((i) => buf.readUInt16BE(start + i));
      return `${priority} ${weight} ${port} ${readName(buf, start + 6).name}`;
    }
    default:
      return generic(buf, start, end);
  }
}

interface Walk {
  pos: number;
  opt?: { udpSize: number; ttl: number; start: number; end: number };
}

function readRecords(buf: Buffer, walk: Walk, count: number): RecordView[] {
  const out: RecordView[] = [];
  for (let i = 0; i < count; i++) {
    const { name, end } = readName(buf, walk.pos);
    if (end + 10 > buf.length) throw new MalformedMessageError('record header runs past the end');
    const type = buf.readUInt16BE(end);
    const qclass = buf.readUInt16BE(end + 2);
    const ttl = buf.readUInt32BE(end + 4);
    const start = end + 10;
    const stop = start + buf.readUInt16BE(end + 8);
    if (stop > buf.length) throw new MalformedMessageError('record data runs past the end');
    walk.pos = stop;
    if (type === TYPE_OPT) {
      walk.opt = { udpSize: qclass, ttl, start, end: stop };
      continue;
    }
    let data: string;
    try {
      data = rdataText(buf, type, start, stop);
    } catch {
      data = generic(buf, start, stop);
    }
    out.push({ name, type: typeName(type), class: className(qclass), ttl, data });
  }
  return out;
}

function ednsView(buf: Buffer, opt: NonNullable<Walk['opt']>): EdnsView {
  const options: { code: number; data: string }[] = [];
  for (let pos = opt.start; pos + 4 <= opt.end;) {
    const len = buf.readUInt16BE(pos + 2);
    options.push({ code: buf.readUInt16BE(pos), data: buf.toString('hex', pos + 4, pos + 4 + len) });
    pos += 4 + len;
  }
  return {
    version: (opt.ttl >>> 16) & 0xff,
    udpSize: opt.udpSize,
    flags: (opt.ttl & 0x8000) !== 0 ? ['do'] : [],
    options,
  };
}

const FLAG_BITS = [
  ['qr', 0x8000],
  ['aa', 0x0400],
  ['tc', 0x0200],
  ['rd', 0x0100],
  ['ra', 0x0080],
  ['ad', 0x0020],
  ['cd', 0x0010],
] as const;

/** The message in presentation form; throws MalformedMessageError when it does not parse. */
export function viewMessage(buf: Buffer): MessageView {
  if (buf.length < HEADER_LENGTH) throw new MalformedMessageError('shorter than a header');
  const bits = buf.readUInt16BE(2);
  const walk: Walk = { pos: HEADER_LENGTH };
  let question: MessageView['question'];
  if (buf.readUInt16BE(4) > 0) {
    const { name, end } = readName(buf, HEADER_LENGTH);
    if (end + 4 > buf.length) throw new MalformedMessageError('question runs past the end');
    question = { name, type: typeName(buf.readUInt16BE(end)), class: className(buf.readUInt16BE(end + 2)) };
    walk.pos = end + 4;
  }
  const answer = readRecords(buf, walk, buf.readUInt16BE(6));
  const authority = readRecords(buf, walk, buf.readUInt16BE(8));
  const additional = readRecords(buf, walk, buf.readUInt16BE(10));
  const extended = walk.opt === undefined ? 0 : (walk.opt.ttl >>> 24) << 4;
  return {
    id: buf.readUInt16BE(0),
    opcode: opcodeName((bits >> 11) & 0x0f),
    rcode: rcodeName(extended | (bits & 0x0f)),
    flags: FLAG_BITS.filter(([, bit]) => (bits & bit) !== 0).map(([flag]) => flag),
    question,
    answer,
    authority,
    additional,
    edns: walk.opt === undefined ? undefined : ednsView(buf, walk.opt),
  };
}
