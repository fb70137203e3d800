/**
 * The OPT pseudo-record of a parsed message (RFC 6891 sec. 6.1.2). Its options are checked when the message
 * is parsed, but listed only when something asks for the list: an upstream's answer carries padding and
 * often keepalive, and the forwarding path only needs to know whether they are there (indexOf, some). The
 * list of option objects was about 160 bytes a forwarded answer.
 */
import type { Buffer } from 'node:buffer';
import { u16 } from './bytes.js';
import { MalformedMessageError } from './malformed.js';

export interface EdnsOption {
  readonly code: number;
  /** Offset of the option's code field. */
  readonly start: number;
  readonly length: number;
}

/** EDNS Client Subnet (RFC 7871). */
export const OPTION_ECS = 8;
/** edns-tcp-keepalive (RFC 7828). */
export const OPTION_KEEPALIVE = 11;
/** Padding (RFC 7830). */
export const OPTION_PADDING = 12;

/** A record without options (most queries) shares this one. */
const NO_OPTIONS: readonly EdnsOption[] = Object.freeze([]);

export class OptRecord {
  #options: readonly EdnsOption[] | undefined;
  readonly #buf: Buffer;
  /** Offset of the first option (the record's RDATA). */
  readonly #rdata: number;
  readonly #count: number;

  constructor(
    buf: Buffer,
    /** Offset of the record (its root owner name). */
    readonly start: number,
    rdata: number,
    /** Offset just past the record. */
    readonly end: number,
    readonly udpSize: number,
    /** The 32-bit TTL field: extended RCODE, version, DO and Z flags (RFC 6891 sec. 6.1.3). */
    readonly ttlField: number,
  ) {
    this.#buf = buf;
    this.#rdata = rdata;
    this.#count = checkOptions(buf, rdata, end);
  }

  /** The options in order, listed on first use. */
  get options(): readonly EdnsOption[] {
    return (this.#options ??= this.#list());
  }

  /** The offset of the first option with `code` (its code field), or -1. A scan: nothing allocated. */
  indexOf(code: number): number {
    const buf = this.#buf;
    for (let pos = this.#rdata; pos < this.end; pos += 4 + u16(buf, pos + 2))
      if (u16(buf, pos) === code) return pos;
    return -1;
  }

  /** Whether any option's code passes `test`. A scan: nothing allocated. */
  some(test: (code: number) => boolean): boolean {
    const buf = this.#buf;
    for (let pos = this.#rdata; pos < this.end; pos += 4 + u16(buf, pos + 2))
      if (test(u16(buf, pos))) return true;
    return false;
  }

  #list(): readonly EdnsOption[] {
    if (this.#count === 0) return NO_OPTIONS;
    const buf = this.#buf;
    const options = new Array<EdnsOption>(this.#count);
    for (let i = 0, pos = this.#rdata; i < this.#count; i++) {
      const length = u16(buf, pos + 2);
      options[i] = { code: u16(buf, pos), start: pos, length };
      pos += 4 + length;
    }
    return options;
  }
}

/** Checks the options' framing and counts them (RFC 6891 sec. 6.1.2; RFC 7830 sec. 4: one padding option). */
function checkOptions(buf: Buffer, start: number, end: number): number {
  let count = 0;
  let padding = 0;
  for (let pos = start; pos < end; count++) {
    if (pos + 4 > end) throw new MalformedMessageError('truncated EDNS option');
    const code = u16(buf, pos);
    const length = u16(buf, pos + 2);
    if (pos + 4 + length > end) throw new MalformedMessageError('EDNS option runs past its record');
    // routedns#199 crashed on two padding options.
    if (code === OPTION_PADDING && ++padding > 1)
      throw new MalformedMessageError('more than one padding option');
    pos += 4 + length;
  }
  return count;
}
