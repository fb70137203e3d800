/**
 * EDNS(0) edits on raw messages. Padding (RFC 7830, option 12) and TCP keepalive (RFC 7828, option 11) are
 * hop-by-hop: dotstub strips what the client sent, adds its own on the TLS hop, and strips the upstream's
 * before answering the client. Every other option travels untouched, byte for byte.
 */
import { HEADER_LENGTH, TYPE_OPT, type OptRecord, type ParsedMessage } from './wire.js';

export const OPTION_KEEPALIVE = 11;
export const OPTION_PADDING = 12;
/** EDNS Client Subnet (RFC 7871). */
export const OPTION_ECS = 8;
/**
 * RFC 7871 sec. 7.1.2: a stub that wants its address kept out of resolution sends ECS with SOURCE
 * PREFIX-LENGTH 0, and the resolver then MUST NOT add the client's network; family 1, no address octets.
 * Sent instead of merely dropping the client's option, because a resolver may add ECS of its own when the
 * query carries none (as stubby's edns_client_subnet_private does).
 */
const PRIVATE_ECS = Buffer.from([0, OPTION_ECS, 0, 4, 0, 1, 0, 0]);
/** Our UDP payload size when we add an OPT the client did not send (DNS Flag Day 2020 value). */
export const DEFAULT_EDNS_UDP_SIZE = 1232;
const OPT_FIXED_LENGTH = 11; // root name, type, class, TTL, RDLENGTH

const isHopByHop = (code: number): boolean => code === OPTION_KEEPALIVE || code === OPTION_PADDING;
/** Options we replace or strip: the hop-by-hop ones, and ECS when it is kept private. */
const isDropped = (code: number, ecsPrivate: boolean): boolean =>
  isHopByHop(code) || (ecsPrivate && code === OPTION_ECS);

/** The options of an OPT record that travel on, as raw bytes. */
function endToEndOptions(buf: Buffer, opt: OptRecord | undefined, ecsPrivate = false): Buffer[] {
  if (opt === undefined) return [];
  return opt.options
    .filter((o) => !isDropped(o.code, ecsPrivate))
    .map((o) => buf.subarray(o.start, o.start + 4 + o.length));
}

function encodeOpt(udpSize: number, ttlField: number, rdata: readonly Buffer[]): Buffer {
  const rdlength = rdata.reduce((n, b) => n + b.length, 0);
  const head = Buffer.alloc(OPT_FIXED_LENGTH);
  head.writeUInt16BE(TYPE_OPT, 1);
  head.writeUInt16BE(udpSize, 3);
  head.writeUInt32BE(ttlField >>> 0, 5);
  head.writeUInt16BE(rdlength, 9);
  return Buffer.concat([head, ...rdata]);
}

function option(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** Replaces (or removes, or appends) the OPT record and fixes ARCOUNT; the rest is copied as is. */
function withOpt(buf: Buffer, msg: ParsedMessage, opt: Buffer | undefined): Buffer {
  const before = msg.opt === undefined ? buf : buf.subarray(0, msg.opt.start);
  const after = msg.opt === undefined ? Buffer.alloc(0) : buf.subarray(msg.opt.end);
  const out = Buffer.concat(opt === undefined ? [before, after] : [before, opt, after]);
  const arcount = msg.arcount - (msg.opt === undefined ? 0 : 1) + (opt === undefined ? 0 : 1);
  out.writeUInt16BE(arcount, 10);
  return out;
}

export interface UpstreamQueryOptions {
  /** Our message ID on the upstream connection. */
  readonly id: number;
  /** Pad to a multiple of this many octets (RFC 8467 sec. 4.1: 128 for queries); 0 = no padding. */
  readonly padBlock: number;
  /** Ask for the server's idle timeout (RFC 7828 sec. 3.2.1: length 0, TCP and TLS only). */
  readonly keepalive: boolean;
  /** Replace the client's ECS with one of source prefix 0 (RFC 7871 sec. 7.1.2). @default false */
  readonly ecsPrivate?: boolean | undefined;
}

/** The client's query as it goes to an upstream: our ID, hop-by-hop options replaced, everything else kept. */
export function toUpstreamQuery(query: Buffer, msg: ParsedMessage, options: UpstreamQueryOptions): Buffer {
  const ecsPrivate = options.ecsPrivate === true;
  if (msg.opt === undefined && options.padBlock === 0 && !options.keepalive && !ecsPrivate) {
    const copy = Buffer.from(query);
    copy.writeUInt16BE(options.id, 0);
    return copy;
  }
  const kept = endToEndOptions(query, msg.opt, ecsPrivate);
  if (ecsPrivate) kept.push(PRIVATE_ECS);
  if (options.keepalive) kept.push(option(OPTION_KEEPALIVE, Buffer.alloc(0)));
  if (options.padBlock > 0) {
    // The length once our OPT replaces the client's, counting the padding option's own 4-octet header
    // (RFC 7830 sec. 3), decides how many padding octets reach the next multiple of the block.
    const oldOpt = msg.opt === undefined ? 0 : msg.opt.end - msg.opt.start;
    const unpadded = query.length - oldOpt + OPT_FIXED_LENGTH + kept.reduce((n, b) => n + b.length, 0) + 4;
    kept.push(
      option(
        OPTION_PADDING,
        Buffer.alloc((options.padBlock - (unpadded % options.padBlock)) % options.padBlock),
      ),
    );
  }
  const out = withOpt(
    query,
    msg,
    encodeOpt(msg.opt?.udpSize ?? DEFAULT_EDNS_UDP_SIZE, msg.opt?.ttlField ?? 0, kept),
  );
  out.writeUInt16BE(options.id, 0);
  return out;
}

/**
 * The upstream's answer as the client must see it: the client's ID back, and no hop-by-hop options (nor
 * ECS, when it is kept private: the client asked for none). When the client sent no OPT (we added one to
 * pad), the answer's OPT goes too.
 */
export function toClientAnswer(
  answer: Buffer,
  msg: ParsedMessage,
  clientId: number,
  clientHadOpt: boolean,
  ecsPrivate = false,
): Buffer {
  let out: Buffer;
  if (msg.opt === undefined) out = Buffer.from(answer);
  else if (!clientHadOpt) out = withOpt(answer, msg, undefined);
  else if (msg.opt.options.some((o) => isDropped(o.code, ecsPrivate)))
    out = withOpt(
      answer,
      msg,
      encodeOpt(msg.opt.udpSize, msg.opt.ttlField, endToEndOptions(answer, msg.opt, ecsPrivate)),
    );
  else out = Buffer.from(answer);
  out.writeUInt16BE(clientId, 0);
  return out;
}

/** The server's idle timeout in ms from an answer's keepalive option, or undefined if it sent none. */
export function keepaliveTimeoutMs(answer: Buffer, msg: ParsedMessage): number | undefined {
  const ka = msg.opt?.options.find((o) => o.code === OPTION_KEEPALIVE);
  // RFC 7828 sec. 3.1: TIMEOUT is in units of 100 ms; a response with length 0 carries no value.
  if (ka?.length !== 2) return undefined;
  return answer.readUInt16BE(ka.start + 4) * 100;
}

/**
 * An answer cut down to header, question and OPT with TC=1, for a UDP client whose size it exceeds
 * (RFC 1035 sec. 4.2.1, RFC 6891 sec. 7): the client retries over TCP.
 */
export function truncateAnswer(answer: Buffer, msg: ParsedMessage): Buffer {
  const questionEnd = msg.question?.end ?? HEADER_LENGTH;
  const opt = msg.opt === undefined ? [] : [answer.subarray(msg.opt.start, msg.opt.end)];
  const out = Buffer.concat([answer.subarray(0, questionEnd), ...opt]);
  out[2] = (out[2] ?? 0) | 0x02;
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt.length, 10);
  return out;
}

/**
 * A locally made answer (SERVFAIL, FORMERR, NOTIMP, REFUSED) to `query`, echoing its ID, opcode, RD and CD,
 * its question when it has a readable one, and an OPT when the client sent one (RFC 6891 sec. 7).
 */
export function errorAnswer(query: Buffer, msg: ParsedMessage | undefined, rcode: number): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  if (query.length >= 4) query.copy(header, 0, 0, 4);
  // QR=1, keep opcode and RD; RA=1, keep CD; AA, TC, AD cleared.
  header[2] = ((header[2] ?? 0) & 0x79) | 0x80;
  header[3] = 0x80 | ((header[3] ?? 0) & 0x10) | (rcode & 0x0f);
  const parts: Buffer[] = [header];
  if (msg?.question !== undefined) {
    header.writeUInt16BE(1, 4);
    parts.push(query.subarray(msg.question.start, msg.question.end));
  }
  if (msg?.opt !== undefined) {
    header.writeUInt16BE(1, 10);
    // Keep only the DO bit of the client's flags (RFC 3225 sec. 3).
    parts.push(encodeOpt(DEFAULT_EDNS_UDP_SIZE, msg.opt.ttlField & 0x8000, []));
  }
  return Buffer.concat(parts);
}
