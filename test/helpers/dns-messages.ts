// Query/answer builders and tiny DNS clients (UDP, TCP, DoT) for tests.
import { createSocket } from 'node:dgram';
import { isIPv6, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import * as dnsPacket from 'dns-packet';
import {
  encodeName,
  encodeOpt,
  frame,
  FrameReader,
  paddingFor,
  parseQuery,
  type EdnsOption,
  type ParsedQuery,
} from './dns-answer.js';

const TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  TLSA: 52,
  SVCB: 64,
  HTTPS: 65,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
};

/** Numeric RR type for a mnemonic, "TYPEnnn" or a number. Throws on unknown mnemonics. */
export function typeCode(type: string | number): number {
  if (typeof type === 'number') return type;
  const upper = type.toUpperCase();
  const known = TYPES[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m?.[1] !== undefined) return Number(m[1]);
  throw new Error(`unknown RR type ${type}`);
}

export interface QueryOptions {
  /** Default: random. */
  id?: number;
  /** Recursion desired, default true. */
  rd?: boolean;
  cd?: boolean;
  /** DNSSEC OK; implies an OPT RR. */
  do?: boolean;
  /** OPT UDP payload size; implies an OPT RR. Default 1232 when an OPT RR is sent. */
  udpSize?: number;
  /** EDNS options (code + raw data); implies an OPT RR. */
  ednsOptions?: EdnsOption[];
  /** Pad (option 12) the whole query to a multiple of this block size (RFC 8467 says 128); implies OPT. */
  pad?: number;
  /** Force (true) or suppress (false) the OPT RR; default: only when an EDNS option above is given. */
  edns?: boolean;
  qclass?: number;
}

/** A wire-format query for one question, written by hand so every type code survives. */
export function buildQuery(name: string, type: string | number, opts: QueryOptions = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(opts.id ?? Math.floor(Math.random() * 0x10000), 0);
  header.writeUInt16BE((opts.rd === false ? 0 : 0x0100) | (opts.cd === true ? 0x0010 : 0), 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(typeCode(type), 0);
  tail.writeUInt16BE(opts.qclass ?? 1, 2);
  const wantEdns =
    opts.edns ??
    (opts.do !== undefined ||
      opts.udpSize !== undefined ||
      opts.ednsOptions !== undefined ||
      opts.pad !== undefined);
  const body = Buffer.concat([header, encodeName(name), tail]);
  if (!wantEdns) return body;
  header.writeUInt16BE(1, 10);
  const udpSize = opts.udpSize ?? 1232;
  const options = [...(opts.ednsOptions ?? [])];
  if (opts.pad !== undefined) {
    const unpadded = body.length + encodeOpt(udpSize, opts.do === true, options).length;
    options.push({ code: 12, data: Buffer.alloc(paddingFor(unpadded, opts.pad)) });
  }
  return Buffer.concat([header, body.subarray(12), encodeOpt(udpSize, opts.do === true, options)]);
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export interface ParsedAnswer extends dnsPacket.DecodedPacket {
  /** Low 4 bits of the header rcode as a name ('NOERROR', ...; 'RCODE_n' otherwise). */
  rcode: string;
  rcodeNumber: number;
  id: number;
  tc: boolean;
  qr: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  aa: boolean;
  /** First question exactly as on the wire (case preserved), or undefined if QDCOUNT=0. */
  question: { name: string; type: number; qclass: number } | undefined;
  edns: ParsedQuery['edns'];
  /** EDNS tcp-keepalive timeout (100 ms units) if present with a value. */
  keepalive: number | undefined;
  /** Length of the EDNS padding option data, if present. */
  paddingLength: number | undefined;
  /** `data` of each answer record as dns-packet decoded it (A/AAAA: string, TXT: Buffer[]). */
  answerData: unknown[];
  raw: Buffer;
}

/**
 * Decodes an answer with dns-packet (answers/additionals as dns-packet objects; throws if it cannot)
 * plus exact header bits and EDNS details read from the wire.
 */
export function parseAnswer(buf: Buffer): ParsedAnswer {
  const decoded = dnsPacket.decode(buf);
  const flags = buf.readUInt16BE(2);
  let wire: ParsedQuery | undefined;
  try {
    wire = parseQuery(buf);
  } catch {
    wire = undefined;
  }
  const opts = wire?.edns?.options ?? [];
  const keepalive = opts.find((o) => o.code === 11 && o.data.length === 2);
  const rcodeNumber = flags & 0xf;
  return {
    ...decoded,
    rcode: RCODE_NAMES[rcodeNumber] ?? `RCODE_${rcodeNumber}`,
    rcodeNumber,
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    question: wire && { name: wire.name, type: wire.type, qclass: wire.qclass },
    edns: wire?.edns,
    keepalive: keepalive?.data.readUInt16BE(0),
    paddingLength: opts.find((o) => o.code === 12)?.data.length,
    answerData: (decoded.answers ?? []).map((r) => ('data' in r ? (r.data as unknown) : undefined)),
    raw: buf,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `pred` every 5 ms; rejects after `timeoutMs` with `what` in the message. */
export async function waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface ClientOptions {
  timeoutMs?: number;
  /** Default 127.0.0.1. */
  address?: string;
}

/** Sends one datagram and resolves with the first datagram received back. */
export function udpQuery(port: number, query: Buffer, opts: ClientOptions = {}): Promise<Buffer> {
  const address = opts.address ?? '127.0.0.1';
  const sock = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`UDP query to ${address}:${port} timed out`));
    }, opts.timeoutMs ?? 2000);
    sock.on('error', reject);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    sock.send(query, port, address);
  }).finally(() => sock.close());
}

export interface TcpQueryOptions extends ClientOptions {
  /** Answers to wait for; default bufs.length. */
  expect?: number;
  /** Speak DoT with these tls.connect options (host/port are filled in). */
  tls?: ConnectionOptions;
  /** Resolve with the answers so far if the server closes early (default: reject). */
  allowEarlyClose?: boolean;
  /** Instead of one write, send the framed bytes in chunks of `size` bytes `delayMs` apart. */
  chunks?: { size: number; delayMs: number };
  /** Send these bytes verbatim instead of the framed `queries` (garbage, odd framing). */
  rawPayload?: Buffer;
}

/** Error from tcpQuery carrying the answers collected before the failure. */
export class TcpQueryError extends Error {
  constructor(
    message: string,
    readonly answers: Buffer[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TcpQueryError';
  }
}

/** Pipelines all queries (one write by default) and collects answers in arrival order. */
export function tcpQuery(port: number, queries: Buffer[], opts: TcpQueryOptions = {}): Promise<Buffer[]> {
  const host = opts.address ?? '127.0.0.1';
  const expect = opts.expect ?? queries.length;
  const answers: Buffer[] = [];
  const payload = opts.rawPayload ?? Buffer.concat(queries.map(frame));
  return new Promise<Buffer[]>((resolve, reject) => {
    const sock: Socket = opts.tls
      ? tlsConnect({ ...opts.tls, host, port }, () => void send())
      : netConnect({ host, port }, () => void send());
    const fail = (msg: string, cause?: unknown): void => {
      reject(new TcpQueryError(`${msg} after ${answers.length}/${expect} answers`, answers, { cause }));
      sock.destroy();
    };
    const timer = setTimeout(() => {
      fail(`TCP query to ${host}:${port} timed out`);
    }, opts.timeoutMs ?? 2000);
    const done = (): void => {
      clearTimeout(timer);
      resolve(answers);
      sock.end();
    };
    const send = async (): Promise<void> => {
      if (!opts.chunks) sock.write(payload);
      for (let off = 0; opts.chunks && off < payload.length && !sock.destroyed; off += opts.chunks.size) {
        sock.write(payload.subarray(off, off + opts.chunks.size));
        await sleep(opts.chunks.delayMs);
      }
      if (expect === 0) done();
    };
    const reader = new FrameReader((answer) => {
      answers.push(answer);
      if (answers.length === expect) done();
    });
    sock.on('data', (chunk: Buffer) => {
      reader.push(chunk);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      fail(`TCP query to ${host}:${port} failed`, err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (answers.length >= expect) return;
      if (opts.allowEarlyClose === true) resolve(answers);
      else fail(`connection to ${host}:${port} closed`);
    });
  });
}
