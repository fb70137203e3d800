import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedMessageError, parseMessage, clientUdpLimit } from '../../src/dns/wire.js';
import { sameQuestion } from '../../src/dns/question-match.js';
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

describe('sameQuestion', () => {
  const q = (name: Buffer, tail = qtail): Buffer => Buffer.concat([header(), name, tail]);
  const same = (a: Buffer, b: Buffer): boolean => {
    const qa = parseMessage(a, false).question;
    const qb = parseMessage(b).question;
    assert.ok(qa !== undefined && qb !== undefined);
    return sameQuestion(a, qa, b, qb);
  };

  it('compares names label by label, folding ASCII letters only (RFC 4343)', () => {
    const upper = q(Buffer.from([3, 0x57, 0x57, 0x57, 1, 0x41, 0]));
    const lower = q(Buffer.from([3, 0x77, 0x77, 0x77, 1, 0x61, 0]));
    assert.ok(same(upper, lower));
    // '@' (0x40) and '`' (0x60) differ by the case bit but are not letters; 0xC4 and 0xE4 neither.
    assert.ok(!same(q(Buffer.from([1, 0x40, 0])), q(Buffer.from([1, 0x60, 0]))));
    assert.ok(!same(q(Buffer.from([1, 0xc4, 0])), q(Buffer.from([1, 0xe4, 0]))));
    assert.ok(
      !same(q(Buffer.from([3, 0x61, 0x2e, 0x62, 0])), q(Buffer.from([1, 0x61, 1, 0x62, 0]))),
      'a label "a.b" is not a.b',
    );
    assert.ok(!same(q(Buffer.from([1, 0x61, 0])), q(Buffer.from([1, 0x62, 0]))));
    assert.ok(same(q(Buffer.from([0])), q(Buffer.from([0]))), 'the root');
  });

  it('compares type and class', () => {
    const name = Buffer.from([1, 0x61, 0]);
    assert.ok(!same(q(name, Buffer.from([0, 28, 0, 1])), q(name)));
    assert.ok(!same(q(name, Buffer.from([0, 1, 0, 3])), q(name)));
    // HTTPS is type 65 (0x41): a letter's octet, which must not fold to type 97 (0x61).
    assert.ok(!same(q(name, Buffer.from([0, 0x41, 0, 1])), q(name, Buffer.from([0, 0x61, 0, 1]))));
  });

  it('falls back to the keys for a compressed question, and makes a lazy key equal to an eager one', () => {
    // A question name pointing back into the header (legal, if odd): its key decides.
    const compressed = Buffer.concat([header(), Buffer.from([0xc0, 0x05]), qtail]);
    compressed[4] = 0;
    compressed[5] = 1; // QDCOUNT 1, whose low octet the pointer lands on: a 1-octet label, then a 0
    const lazy = parseMessage(compressed, false).question;
    const eager = parseMessage(compressed).question;
    assert.ok(lazy !== undefined && eager !== undefined);
    assert.equal(lazy.key, eager.key);
    assert.equal(sameQuestion(compressed, lazy, compressed, eager), true);
    const plain = parseMessage(buildQuery('WwW.Example.ORG', 'HTTPS', { qclass: 3 }), false);
    assert.equal(plain.question?.key, 'www.example.org./65/3');
  });
});

describe('EDNS options', () => {
  it('shares one empty list among records without options, and lists the others in order', () => {
    const a = parseMessage(buildQuery('a.example', 'A', { udpSize: 1232 }));
    const b = parseMessage(buildQuery('b.example', 'A', { udpSize: 1232 }));
    assert.ok(a.opt !== undefined && b.opt !== undefined);
    assert.equal(a.opt.options.length, 0);
    assert.equal(a.opt.options, b.opt.options);
    assert.ok(Object.isFrozen(a.opt.options));
    const q = buildQuery('c.example', 'A', {
      udpSize: 1232,
      ednsOptions: [
        { code: 11, data: Buffer.alloc(0) },
        { code: 12, data: Buffer.alloc(5) },
        { code: 10, data: Buffer.alloc(8) },
      ],
    });
    assert.deepEqual(
      parseMessage(q).opt?.options.map((o) => [o.code, o.length, q.readUInt16BE(o.start)]),
      [
        [11, 0, 11],
        [12, 5, 12],
        [10, 8, 10],
      ],
    );
  });

  it('finds an option by code, or tests the codes, without listing them: the same answers as the list', () => {
    const q = buildQuery('d.example', 'A', {
      udpSize: 1232,
      ednsOptions: [
        { code: 10, data: Buffer.alloc(8) },
        { code: 11, data: Buffer.from([0, 50]) },
        { code: 12, data: Buffer.alloc(3) },
      ],
    });
    const opt = parseMessage(q).opt;
    assert.ok(opt !== undefined);
    assert.equal(opt.indexOf(11), opt.options.find((o) => o.code === 11)?.start);
    assert.equal(
      q.readUInt16BE(opt.indexOf(11) + 4),
      50,
      'the offset of the code field, as EdnsOption.start',
    );
    assert.equal(opt.indexOf(12), opt.options[2]?.start);
    assert.equal(opt.indexOf(8), -1);
    assert.equal(
      opt.some((code) => code === 12),
      true,
    );
    assert.equal(
      opt.some((code) => code === 8 || code === 9),
      false,
    );
    const none = parseMessage(buildQuery('e.example', 'A', { udpSize: 1232 })).opt;
    assert.ok(none !== undefined);
    assert.equal(none.indexOf(12), -1);
    assert.equal(
      none.some(() => true),
      false,
    );
  });
});
