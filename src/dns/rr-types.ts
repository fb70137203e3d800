/**
 * RR type and class mnemonics (RFC 1035, RFC 3597 `TYPEnnn`/`CLASSnnn`), both ways. A table of our own:
 * dns-packet encodes types it does not know (HTTPS, SVCB, TYPEnnn) as 0.
 */
const TYPES: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  CERT: 37,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  URI: 256,
  CAA: 257,
};

const CLASSES: Readonly<Record<string, number>> = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };

const TYPE_NAMES = new Map(Object.entries(TYPES).map(([name, code]) => [code, name]));
const CLASS_NAMES = new Map(Object.entries(CLASSES).map(([name, code]) => [code, name]));

function parseCode(
  text: string,
  table: Readonly<Record<string, number>>,
  prefix: string,
): number | undefined {
  const upper = text.toUpperCase();
  const known = table[upper];
  if (known !== undefined) return known;
  const generic = new RegExp(`^${prefix}(\\d{1,5})$`).exec(upper)?.[1];
  if (generic === undefined) return undefined;
  const code = Number(generic);
  return code <= 0xffff ? code : undefined;
}

/** The type code of `A`, `https`, `TYPE65535`...; undefined when it is none of those. */
export function typeFromText(text: string): number | undefined {
  return parseCode(text, TYPES, 'TYPE');
}

/** The class code of `IN`, `CH`, `CLASS3`...; undefined when it is none of those. */
export function classFromText(text: string): number | undefined {
  return parseCode(text, CLASSES, 'CLASS');
}

export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

export function className(code: number): string {
  return CLASS_NAMES.get(code) ?? `CLASS${code}`;
}

const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

export function rcodeName(code: number): string {
  return RCODE_NAMES[code] ?? (code === 16 ? 'BADVERS' : `RCODE${code}`);
}

const OPCODE_NAMES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE3', 'NOTIFY', 'UPDATE'];

export function opcodeName(code: number): string {
  return OPCODE_NAMES[code] ?? `OPCODE${code}`;
}
