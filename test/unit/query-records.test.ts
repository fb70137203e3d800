// Presentation form of answers for `dotstub query` (src/dns/records.ts) and the hand-written query builder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQuery, encodeName, reverseName } from '../../src/dns/build-query.js';
import { viewMessage } from '../../src/dns/records.js';
import { parseMessage } from '../../src/dns/wire.js';

/** A record owned by the question name (pointer to offset 12). */
function rr(type: number, rdata: Buffer, qclass = 1): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(qclass, 4);
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function answer(records: Buffer[], rcode = 0): Buffer {
  const query = buildQuery('Example.ORG', 1, 1, { id: 7 });
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8580 | rcode, 2);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12), ...records]);
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('presentation form of an answer', () => {
  it('spells out the common types and uses RFC 3597 for the rest', () => {
    const v6 = (hex: string): Buffer => Buffer.from(hex, 'hex');
    const msg = answer([
      rr(1, Buffer.from([192, 0, 2, 1])),
      rr(28, v6('20010db8000000000000000000000001')),
      rr(28, v6('20010db8000100000000000100000000')),
      rr(28, v6('00000000000000000000000000000001')),
      rr(15, Buffer.concat([u16(10), encodeName('mail.example.org')])),
      rr(16, Buffer.from('\x05a "b"\x00', 'latin1')),
      rr(
        6,
        Buffer.concat([
          Buffer.from([0xc0, 0x0c]),
          encodeName('host\\.master.example.org'),
          u32(1),
          u32(2),
          u32(3),
          u32(4),
          u32(5),
        ]),
      ),
      rr(33, Buffer.concat([u16(1), u16(2), u16(853), encodeName('dot.example.org')])),
      rr(65, Buffer.from('000100', 'hex')),
      rr(65535, Buffer.alloc(0)),
      rr(5, encodeName('.')),
    ]);
    const view = viewMessage(msg);
    assert.equal(view.rcode, 'NOERROR');
    assert.deepEqual(view.flags, ['qr', 'aa', 'rd', 'ra']);
    assert.deepEqual(view.question, { name: 'Example.ORG.', type: 'A', class: 'IN' });
    assert.deepEqual(
      view.answer.map((r) => `${r.name} ${r.ttl} ${r.class} ${r.type} ${r.data}`),
      [
        'Example.ORG. 60 IN A 192.0.2.1',
        'Example.ORG. 60 IN AAAA 2001:db8::1',
        'Example.ORG. 60 IN AAAA 2001:db8:1::1:0:0',
        'Example.ORG. 60 IN AAAA ::1',
        'Example.ORG. 60 IN MX 10 mail.example.org.',
        'Example.ORG. 60 IN TXT "a \\"b\\"" ""',
        'Example.ORG. 60 IN SOA Example.ORG. host\\.master.example.org. 1 2 3 4 5',
        'Example.ORG. 60 IN SRV 1 2 853 dot.example.org.',
        'Example.ORG. 60 IN HTTPS \\# 3 000100',
        'Example.ORG. 60 IN TYPE65535 \\# 0',
        'Example.ORG. 60 IN CNAME .',
      ],
    );
  });

  it('reads the OPT record as EDNS, with the extended RCODE', () => {
    const opt = Buffer.from('0000290400010080000000', 'hex'); // udp 1024, ext rcode 1, DO
    const msg = answer([opt], 0);
    msg.writeUInt16BE(0, 6);
    msg.writeUInt16BE(1, 10);
    const view = viewMessage(msg);
    assert.equal(view.rcode, 'BADVERS');
    assert.deepEqual(view.edns, { version: 0, udpSize: 1024, flags: ['do'], options: [] });
    assert.deepEqual(view.additional, []);
  });
});

describe('query builder', () => {
  it('writes any type code, the class, RD, and an OPT with DO when asked', () => {
    const q = buildQuery('svc.example', 65535, 3, { id: 0x1234, ednsUdpSize: 1232, dnssecOk: true });
    const msg = parseMessage(q);
    assert.equal(msg.id, 0x1234);
    assert.equal(msg.question?.key, 'svc.example./65535/3');
    assert.equal(q.readUInt16BE(2), 0x0100);
    assert.equal(msg.opt?.udpSize, 1232);
    assert.equal(msg.opt.ttlField, 0x8000);
    assert.equal(parseMessage(buildQuery('.', 2, 1, { id: 1 })).question?.key, './2/1');
  });

  it('refuses names that cannot be written', () => {
    assert.throws(() => encodeName('a..b'), /bad name "a..b": empty label/);
    assert.throws(() => encodeName(`${'x'.repeat(64)}.test`), /a label is longer than 63 octets/);
    assert.throws(() => encodeName('bücher.example'), /non-ASCII character/);
    assert.throws(() => encodeName(Array(130).fill('ab').join('.')), /longer than 255 octets/);
  });

  it('makes reverse names for IPv4 and IPv6', () => {
    assert.equal(reverseName('192.0.2.1', 4), '1.2.0.192.in-addr.arpa');
    assert.equal(reverseName('::ffff:192.0.2.1', 6), `1.0.2.0.0.0.0.c.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`);
  });
});
