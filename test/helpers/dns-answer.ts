// Wire-level DNS helpers shared by the fake servers: a forgiving query parser, the default answer
// builder, and an RFC 7766 length-prefix frame reader. Written by hand (not dns-packet) because
// dns-packet re-encodes question types it does not know as 0 and mis-encodes EDNS keepalive.

export interface EdnsOption {
  code: number;
  data: Buffer;
}

export interface ParsedQuery {
  id: number;
  /** QR, opcode, AA, TC, RD, RA, Z, AD, CD and rcode bits as sent. */
  flags: number;
  rd: boolean;
  cd: boolean;
  /** Question name exactly as sent (case preserved), labels joined by '.', root is '.'. */
  name: string;
  type: number;
  qclass: number;
  /** Raw question section bytes (name + type + class), offsets 12..questionEnd. */
  questionBytes: Buffer;
  /** Present when the query carries an OPT RR. */
  edns?: { udpSize: number; do: boolean; version: number; options: EdnsOption[] };
}

export type RcodeName = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
const RCODES: Record<RcodeName, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};

export interface AnswerOptions {
  /** Answer with this ID instead of the query's. */
  id?: number;
  /** Answer with this question name instead of copying the query's question bytes. */
  name?: string;
  /** Response code; anything but NOERROR carries no answer records. */
  rcode?: RcodeName | number;
  /** Add TXT records totalling roughly this many bytes of RDATA. */
  bigTxtBytes?: number;
  /** Set TC=1 and carry no answer records. */
  truncated?: boolean;
  /** EDNS tcp-keepalive timeout (units of 100 ms) to include when the query had an OPT RR. */
  keepaliveTimeout?: number;
  /** Pad (option 12) the whole answer to a multiple of 468 bytes when the query had an OPT RR. */
  padAnswers?: boolean;
  /** Copy the query's EDNS options except keepalive (11) and padding (12). */
  echoEdnsOptions?: boolean;
  /** OPT RR UDP payload size advertised in the answer (default 1232). */
  udpSize?: number;
}

export const DEFAULT_TTL = 300;
export const ANSWER_UDP_SIZE = 1232;
export const PAD_BLOCK = 468;

/** Reads a name without compression; returns labels and the offset after it. Throws on malformed input. */
function readName(buf: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let off = start;
  for (;;) {
    const len = buf.readUInt8(off);
    if (len === 0) return { name: labels.length === 0 ? '.' : labels.join('.'), end: off + 1 };
    if ((len & 0xc0) === 0xc0) {
      // A compressed name ends with the 2-byte pointer; its labels are not needed here.
      buf.readUInt16BE(off);
      return { name: labels.join('.') || '.', end: off + 2 };
    }
    if (len > 63 || off + 1 + len > buf.length) throw new RangeError('bad label');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
}

function parseOptions(rdata: Buffer): EdnsOption[] {
  const out: EdnsOption[] = [];
  let off = 0;
  while (off + 4 <= rdata.length) {
    const code = rdata.readUInt16BE(off);
    const len = rdata.readUInt16BE(off + 2);
    out.push({ code, data: Buffer.from(rdata.subarray(off + 4, off + 4 + len)) });
    off += 4 + len;
  }
  return out;
}

/** Parses a query; throws (RangeError etc.) on garbage. Only the first question is examined. */
export function parseQuery(buf: Buffer): ParsedQuery {
  if (buf.length < 12) throw new RangeError('short DNS header');
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  if (qdcount < 1) throw new RangeError('no question');
  const q = readName(buf, 12);
  const type = buf.readUInt16BE(q.end);
  const qclass = buf.readUInt16BE(q.end + 2);
  const parsed: ParsedQuery = {
    id: buf.readUInt16BE(0),
    flags,
    rd: (flags & 0x0100) !== 0,
    cd: (flags & 0x0010) !== 0,
    name: q.name,
    type,
    qclass,
    questionBytes: Buffer.from(buf.subarray(12, q.end + 4)),
  };
  let off = q.end + 4;
  for (let i = 1; i < qdcount; i++) off = readName(buf, off).end + 4;
  const rrCount = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  for (let i = 0; i < rrCount && off < buf.length; i++) {
    const rr = readName(buf, off);
    const rrType = buf.readUInt16BE(rr.end);
    const rdlen = buf.readUInt16BE(rr.end + 8);
    const rdStart = rr.end + 10;
    if (rrType === 41) {
      const ttl = buf.readUInt32BE(rr.end + 4);
      parsed.edns = {
        udpSize: buf.readUInt16BE(rr.end + 2),
        do: (ttl & 0x8000) !== 0,
        version: (ttl >>> 16) & 0xff,
        options: parseOptions(buf.subarray(rdStart, rdStart + rdlen)),
      };
    }
    off = rdStart + rdlen;
  }
  return parsed;
}

/** Encodes a dotted name as uncompressed wire labels ('.' or '' is the root). */
export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) {
    if (label === '') continue;
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new RangeError(`label too long: ${label}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** One resource record; `name` defaults to a compression pointer to the question name (offset 12). */
export function encodeRecord(type: number, qclass: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(qclass, 4);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

/** TXT RDATA from character-strings (each at most 255 bytes). */
export function txtRdata(strings: string[]): Buffer {
  return Buffer.concat(
    strings.map((s) => {
      const b = Buffer.from(s, 'utf8').subarray(0, 255);
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
  );
}

/** Encodes EDNS options as OPT RDATA. */
export function encodeOptions(options: EdnsOption[]): Buffer {
  return Buffer.concat(
    options.map((o) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(o.code, 0);
      head.writeUInt16BE(o.data.length, 2);
      return Buffer.concat([head, o.data]);
    }),
  );
}

/** A complete OPT RR (owner root). */
export function encodeOpt(udpSize: number, dnssecOk: boolean, options: EdnsOption[]): Buffer {
  const rdata = encodeOptions(options);
  const head = Buffer.alloc(11);
  head.writeUInt8(0, 0);
  head.writeUInt16BE(41, 1);
  head.writeUInt16BE(udpSize, 3);
  head.writeUInt32BE(dnssecOk ? 0x8000 : 0, 5);
  head.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([head, rdata]);
}

/** Bytes of padding option data so that `length + 4 + n` is a multiple of `block`. */
export function paddingFor(length: number, block: number): number {
  return (block - ((length + 4) % block)) % block;
}

function defaultRecords(q: ParsedQuery, opts: AnswerOptions): Buffer[] {
  const out: Buffer[] = [];
  if (q.type === 1) out.push(encodeRecord(1, q.qclass, DEFAULT_TTL, Buffer.from([192, 0, 2, 1])));
  if (q.type === 28) {
    const v6 = Buffer.alloc(16);
    v6.writeUInt32BE(0x20010db8, 0);
    v6.writeUInt8(1, 15);
    out.push(encodeRecord(28, q.qclass, DEFAULT_TTL, v6));
  }
  if (q.type === 16) out.push(encodeRecord(16, q.qclass, DEFAULT_TTL, txtRdata(['fake'])));
  let remaining = opts.bigTxtBytes ?? 0;
  for (let i = 0; remaining > 0; i++) {
    // Each record: up to 4 strings of 250 bytes; the letter varies so records differ.
    const chunk = Math.min(remaining, 1000);
    const strings: string[] = [];
    for (let left = chunk; left > 0; left -= 250) {
      strings.push(String.fromCharCode(97 + (i % 26)).repeat(Math.min(left, 250)));
    }
    out.push(encodeRecord(16, q.qclass, DEFAULT_TTL, txtRdata(strings)));
    remaining -= chunk;
  }
  return out;
}

function rcodeNumber(rcode: RcodeName | number | undefined): number {
  if (rcode === undefined) return 0;
  return typeof rcode === 'number' ? rcode & 0xf : RCODES[rcode];
}

/**
 * The default answer: same ID and question (raw bytes, case preserved), QR=1, RA=1, opcode/RD/CD copied,
 * A 192.0.2.1 / AAAA 2001:db8::1 / TXT "fake" (TTL 300), NODATA for other types. If the query had an
 * OPT RR the answer has one (udp 1232, DO copied) with the configured keepalive/echo/padding options.
 */
export function buildAnswer(query: Buffer | ParsedQuery, opts: AnswerOptions = {}): Buffer {
  const q = Buffer.isBuffer(query) ? parseQuery(query) : query;
  const rcode = rcodeNumber(opts.rcode);
  const truncated = opts.truncated === true;
  const records = rcode === 0 && !truncated ? defaultRecords(q, opts) : [];
  const question =
    opts.name === undefined
      ? q.questionBytes
      : Buffer.concat([encodeName(opts.name), q.questionBytes.subarray(q.questionBytes.length - 4)]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(opts.id ?? q.id, 0);
  // QR | opcode | TC | RD | RA | CD | rcode
  const flags = 0x8000 | (q.flags & 0x7800) | (truncated ? 0x0200 : 0) | (q.flags & 0x0100) | 0x0080;
  header.writeUInt16BE(flags | (q.flags & 0x0010) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(q.edns ? 1 : 0, 10);
  const body = Buffer.concat([header, question, ...records]);
  if (!q.edns) return body;
  const options: EdnsOption[] = [];
  if (opts.echoEdnsOptions === true)
    options.push(...q.edns.options.filter((o) => o.code !== 11 && o.code !== 12));
  if (opts.keepaliveTimeout !== undefined) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(opts.keepaliveTimeout & 0xffff, 0);
    options.push({ code: 11, data });
  }
  const udpSize = opts.udpSize ?? ANSWER_UDP_SIZE;
  if (opts.padAnswers === true) {
    const unpadded = body.length + encodeOpt(udpSize, q.edns.do, options).length;
    options.push({ code: 12, data: Buffer.alloc(paddingFor(unpadded, PAD_BLOCK)) });
  }
  return Buffer.concat([body, encodeOpt(udpSize, q.edns.do, options)]);
}

/** Prepends the RFC 7766 2-byte big-endian length. */
export function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(payload.length, 0);
  return Buffer.concat([len, payload]);
}

/**
 * Incremental length-prefix reader: push() any chunking of the stream, get each complete frame
 * payload (without prefix) via `onFrame`, in order. `pending` is the count of buffered bytes.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (payload: Buffer) => void) {}

  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      const payload = Buffer.from(this.buf.subarray(2, 2 + len));
      this.buf = this.buf.subarray(2 + len);
      this.onFrame(payload);
    }
  }
}
