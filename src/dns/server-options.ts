/**
 * Hop-by-hop EDNS options dotstub adds to its own answers when it is the DoT server: the idle timeout
 * (RFC 7828 sec. 3.3.2, only when the client's query carried the option) and padding (RFC 7830, RFC 8467
 * sec. 4.1: only when the query was padded, to a multiple of the block size, 468 octets by default).
 * Only the OPT record is rewritten; every other byte of the answer is copied as it is.
 */
import { Buffer } from 'node:buffer';
import {
  DEFAULT_EDNS_UDP_SIZE,
  encodeOpt,
  endToEndOptions,
  OPT_FIXED_LENGTH,
  OPTION_KEEPALIVE,
  OPTION_PADDING,
  option,
  withOpt,
} from './edns.js';
import type { ParsedMessage } from './wire.js';

/** RFC 8467 sec. 4.1: the recommended block size for responses. */
export const RESPONSE_PAD_BLOCK = 468;
const MAX_MESSAGE = 0xffff;

export interface ClientHopOptions {
  readonly keepalive: boolean;
  readonly padding: boolean;
}

/** Which hop-by-hop options the client's query carried. */
export function clientHopOptions(query: ParsedMessage): ClientHopOptions {
  const codes = new Set(query.opt?.options.map((o) => o.code) ?? []);
  return { keepalive: codes.has(OPTION_KEEPALIVE), padding: codes.has(OPTION_PADDING) };
}

export interface ServerHopOptions {
  /** Our idle timeout to announce, in ms; undefined announces nothing. */
  readonly keepaliveMs?: number | undefined;
  /** Pad to a multiple of this many octets; 0 = no padding. */
  readonly padBlock: number;
}

/** Padding octets that bring `length` (counting the padding option's own 4-octet header) to a multiple of `block`. */
function paddingLength(length: number, block: number): number {
  return (block - ((length + 4) % block)) % block;
}

/**
 * The answer with its keepalive and padding options replaced by ours. Does nothing when there is nothing
 * to add; a padded answer that would pass 65535 octets goes unpadded.
 */
export function addServerHopOptions(answer: Buffer, msg: ParsedMessage, opts: ServerHopOptions): Buffer {
  if (opts.keepaliveMs === undefined && opts.padBlock <= 0) return answer;
  const kept = endToEndOptions(answer, msg.opt);
  if (opts.keepaliveMs !== undefined) {
    // RFC 7828 sec. 3.1: TIMEOUT in units of 100 ms, 16 bits.
    const value = Buffer.alloc(2);
    value.writeUInt16BE(Math.min(0xffff, Math.floor(opts.keepaliveMs / 100)), 0);
    kept.push(option(OPTION_KEEPALIVE, value));
  }
  if (opts.padBlock > 0) {
    const oldOpt = msg.opt === undefined ? 0 : msg.opt.end - msg.opt.start;
    const unpadded = answer.length - oldOpt + OPT_FIXED_LENGTH + kept.reduce((n, b) => n + b.length, 0);
    const pad = paddingLength(unpadded, opts.padBlock);
    if (unpadded + 4 + pad <= MAX_MESSAGE) kept.push(option(OPTION_PADDING, Buffer.alloc(pad)));
  }
  return withOpt(
    answer,
    msg,
    encodeOpt(msg.opt?.udpSize ?? DEFAULT_EDNS_UDP_SIZE, msg.opt?.ttlField ?? 0, kept),
  );
}
