import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedMessageError, parseMessage, clientUdpLimit } from '../../src/dns/wire.js';
import { buildQuery } from '../helpers/dns-messages.js';

const header = (
  fields: { qd?: number; an?: number; ns?: number; ar?: number; flags?: number } = {},
): Buffer => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(fields.flags ?? 0x0100, 2);
  h.writeUInt16BE(fields.qd ?? 1, 4);
  h.writeUInt16BE(fields.an ?? 0, 6);
  h.writeUInt16BE(fields.ns ?? 0, 8);
  h.writeUInt16BE(fields.ar ?? 0, 10);
  return h;
};
const qtail = Buffer.from([0, 1, 0, 1]);
const opt = (options: Buffer = Buffer.alloc(0)): Buffer => {
  const o = Buffer.alloc(11);
  o.writeUInt16BE(41, 1);
  o.writeUInt16BE(1232, 3);
  o.writeUInt16BE(options.length, 9);
  return Buffer.concat([o, options]);
};
const padOption = (n: number): Buffer => {
  const b = Buffer.alloc(4 + n);
  b.writeUInt16BE(12, 0);
  b.writeUInt16BE(n, 2);
  return b;
};

describe('parseMessage', () => {
  it('reads the question key case-insensitively and keeps type and class', () => {
    const msg = parseMessage(buildQuery('WwW.Example.ORG', 'HTTPS', { qclass: 3 }));
    assert.equal(msg.question?.key, 'www.example.org./65/3');
    assert.equal(msg.opt, undefined);
  });

  it('folds only ASCII letters in the key, and keys the root name as a dot', () => {
    // RFC 4343: octets outside A-Z compare as they are (0xC4 is not folded to 0xE4).
    const name = Buffer.from([2, 0x41, 0xc4, 1, 0x5a, 0]);
    const msg = parseMessage(Buffer.concat([header(), name, qtail]));
    assert.equal(msg.question?.key, 'a\u00c4.z./1/1');
    const root = parseMessage(Buffer.concat([header(), Buffer.from([0]), qtail]));
    assert.equal(root.question?.key, './1/1');
  });

  it('finds the OPT record, its size and its options', () => {
    const q = buildQuery('a.example', 'A', {
      udpSize: 4096,
      ednsOptions: [{ code: 10, data: Buffer.alloc(8, 1) }],
    });
    const msg = parseMessage(q);
    assert.equal(msg.opt?.udpSize, 4096);
    assert.deepEqual(
      msg.opt.options.map((o) => [o.code, o.length]),
      [[10, 8]],
    );
    assert.equal(clientUdpLimit(msg), 4096);
  });

  it('gives 512 bytes to a client without EDNS and never less than 512 with it', () => {
    assert.equal(clientUdpLimit(parseMessage(buildQuery('a.example', 'A'))), 512);
    assert.equal(clientUdpLimit(parseMessage(buildQuery('a.example', 'A', { udpSize: 100 }))), 512);
  });

  const malformed: [string, Buffer][] = [
    ['shorter than a header', Buffer.alloc(11)],
    [
      'two questions',
      Buffer.concat([header({ qd: 2 }), Buffer.from([1, 0x61, 0]), qtail, Buffer.from([0]), qtail]),
    ],
    [
      'a label longer than 63 octets',
      Buffer.concat([header(), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0]), qtail]),
    ],
    [
      'a name longer than 255 octets',
      Buffer.concat([
        header(),
        ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x61)])),
        Buffer.from([0]),
        qtail,
      ]),
    ],
    ['a compression pointer to itself', Buffer.concat([header(), Buffer.from([0xc0, 12]), qtail])],
    [
      'a forward compression pointer',
      Buffer.concat([header(), Buffer.from([0xc0, 20]), qtail, Buffer.alloc(8)]),
    ],
    ['a truncated question', Buffer.concat([header(), Buffer.from([1, 0x61, 0, 0])])],
    ['trailing garbage', Buffer.concat([header(), Buffer.from([1, 0x61, 0]), qtail, Buffer.from([1, 2, 3])])],
    [
      'a record that runs past the end',
      Buffer.concat([
        header({ an: 1 }),
        Buffer.from([1, 0x61, 0]),
        qtail,
        Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1]),
      ]),
    ],
    ['two OPT records', Buffer.concat([header({ ar: 2 }), Buffer.from([1, 0x61, 0]), qtail, opt(), opt()])],
    [
      'an OPT record in the answer section',
      Buffer.concat([header({ an: 1 }), Buffer.from([1, 0x61, 0]), qtail, opt()]),
    ],
    [
      'two padding options',
      Buffer.concat([
        header({ ar: 1 }),
        Buffer.from([1, 0x61, 0]),
        qtail,
        opt(Buffer.concat([padOption(2), padOption(3)])),
      ]),
    ],
    [
      'an EDNS option that runs past its record',
      Buffer.concat([
        header({ ar: 1 }),
        Buffer.from([1, 0x61, 0]),
        qtail,
        opt(Buffer.from([0, 12, 0, 9, 0])),
      ]),
    ],
    ['a reserved label type', Buffer.concat([header(), Buffer.from([0x41, 0x61, 0]), qtail])],
  ];
  for (const [what, buf] of malformed) {
    it(`rejects ${what}`, () => {
      assert.throws(() => parseMessage(buf), MalformedMessageError);
    });
  }

  it('follows a backward compression pointer in a record', () => {
    // Question a., then an A record whose owner is a pointer to offset 12.
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
    const msg = parseMessage(
      Buffer.concat([header({ an: 1, flags: 0x8180 }), Buffer.from([1, 0x61, 0]), qtail, rr]),
    );
    assert.equal(msg.ancount, 1);
  });
});
