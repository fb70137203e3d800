/**
 * A query written byte by byte (RFC 1035 sec. 4.1), so every type code survives (dns-packet writes HTTPS,
 * SVCB and TYPEnnn as 0). For `dotstub query`; the daemon never builds queries, it forwards its clients'.
 */
import { Buffer } from 'node:buffer';
import { TYPE_OPT } from './wire.js';

export interface QueryOptions {
  readonly id: number;
  /** RD (recursion desired): a stub asks its resolver to recurse. @default true */
  readonly rd?: boolean;
  /** EDNS(0) UDP payload size; undefined sends no OPT record (RFC 6891). */
  readonly ednsUdpSize?: number | undefined;
  /** The DO bit (RFC 3225); needs EDNS. @default false */
  readonly dnssecOk?: boolean;
}

/** Why a name cannot be written in wire format, in words (the CLI shows it). */
export class BadNameError extends Error {
  constructor(name: string, detail: string) {
    super(`bad name ${JSON.stringify(name)}: ${detail}`);
    this.name = 'BadNameError';
  }
}

/** Splits presentation form into labels, honouring `\.` and `\DDD` escapes (RFC 1035 sec. 5.1). */
function labelsOf(name: string): Buffer[] {
  const labels: Buffer[] = [];
  let current: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name[i] ?? '';
    if (c === '.') {
      if (current.length === 0) throw new BadNameError(name, 'empty label');
      labels.push(Buffer.from(current));
      current = [];
    } else if (c === '\\') {
      const digits = /^\d{3}/.exec(name.slice(i + 1))?.[0];
      const code = digits === undefined ? name.charCodeAt(i + 1) : Number(digits);
      if (Number.isNaN(code) || code > 255) throw new BadNameError(name, 'bad escape');
      current.push(code);
      i += digits === undefined ? 1 : 3;
    } else {
      const code = name.charCodeAt(i);
      if (code > 127) throw new BadNameError(name, 'non-ASCII character (use the xn-- form)');
      current.push(code);
    }
  }
  if (current.length > 0) labels.push(Buffer.from(current));
  return labels;
}

/** A presentation-form name (`example.org`, `example.org.`, `.`) in wire format. */
export function encodeName(name: string): Buffer {
  const labels = name === '.' ? [] : labelsOf(name);
  const parts: Buffer[] = [];
  for (const label of labels) {
    if (label.length > 63) throw new BadNameError(name, 'a label is longer than 63 octets');
    parts.push(Buffer.from([label.length]), label);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) throw new BadNameError(name, 'longer than 255 octets');
  return wire;
}

export function buildQuery(name: string, type: number, qclass: number, options: QueryOptions): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id, 0);
  header.writeUInt16BE(options.rd === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(qclass, 2);
  if (options.ednsUdpSize === undefined) return Buffer.concat([header, encodeName(name), tail]);
  header.writeUInt16BE(1, 10);
  // Root name, TYPE OPT, CLASS = UDP size, TTL = extended RCODE 0, version 0, DO, RDLENGTH 0.
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(TYPE_OPT, 1);
  opt.writeUInt16BE(options.ednsUdpSize, 3);
  opt.writeUInt32BE(options.dnssecOk === true ? 0x8000 : 0, 5);
  return Buffer.concat([header, encodeName(name), tail, opt]);
}

/** The reverse-lookup name of an IP address: `1.2.0.192.in-addr.arpa` or nibbles under `ip6.arpa`. */
export function reverseName(ip: string, family: 4 | 6): string {
  if (family === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${expandIpv6(ip).split('').reverse().join('.')}.ip6.arpa`;
}

/** 32 hex digits of an IPv6 address (an embedded IPv4 tail included). */
function expandIpv6(ip: string): string {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join('');
}
