import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  errorAnswer,
  keepaliveTimeoutMs,
  toClientAnswer,
  toUpstreamQuery,
  truncateAnswer,
  withoutOptions,
} from '../../src/dns/edns.js';
import { parseMessage, RCODE } from '../../src/dns/wire.js';
import { buildAnswer } from '../helpers/dns-answer.js';
import { buildQuery } from '../helpers/dns-messages.js';

const codes = (buf: Buffer): number[] => parseMessage(buf).opt?.options.map((o) => o.code) ?? [];

describe('toUpstreamQuery', () => {
  it('pads every query to a multiple of the block (RFC 8467 sec. 4.1) and adds keepalive with length 0', () => {
    for (const name of [
      'a.example',
      'a-much-longer-name.with.several.labels.example.org',
      'x'.repeat(63) + '.example',
    ]) {
      for (const block of [128, 468]) {
        const q = buildQuery(name, 'AAAA');
        const out = toUpstreamQuery(q, parseMessage(q), { id: 7, padBlock: block, keepalive: true });
        assert.equal(out.length % block, 0, `${name} / ${block}: ${out.length}`);
        const msg = parseMessage(out);
        assert.equal(msg.id, 7);
        assert.deepEqual(codes(out), [11, 12]);
        assert.equal(msg.opt?.options[0]?.length, 0);
        // RFC 7830 sec. 4: the padding octets are zero.
        const pad = msg.opt.options[1];
        assert.ok(
          pad !== undefined && out.subarray(pad.start + 4, pad.start + 4 + pad.length).every((b) => b === 0),
        );
      }
    }
  });

  it('replaces the client padding and keepalive but keeps every other option and the DO bit byte for byte', () => {
    const cookie = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };
    const ecs = { code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2]) };
    const q = buildQuery('MiXeD.Example', 'TYPE65535', {
      do: true,
      ednsOptions: [cookie, { code: 11, data: Buffer.alloc(0) }, ecs],
      pad: 64,
    });
    const out = toUpstreamQuery(q, parseMessage(q), { id: 1, padBlock: 128, keepalive: true });
    const msg = parseMessage(out);
    assert.deepEqual(codes(out), [10, 8, 11, 12]);
    assert.equal((msg.opt?.ttlField ?? 0) & 0x8000, 0x8000);
    assert.ok(out.includes(Buffer.from('0123456789abcdef', 'hex')));
    assert.ok(
      out.subarray(12, msg.question?.end).equals(q.subarray(12, parseMessage(q).question?.end)),
      'question bytes unchanged',
    );
  });

  it('changes only the ID when padding and keepalive are off and the client sent no OPT', () => {
    const q = buildQuery('a.example', 'A', { id: 99 });
    const out = toUpstreamQuery(q, parseMessage(q), { id: 5, padBlock: 0, keepalive: false });
    assert.ok(out.subarray(2).equals(q.subarray(2)));
    assert.equal(out.readUInt16BE(0), 5);
  });
});

describe('toClientAnswer', () => {
  it('restores the client ID and strips keepalive and padding', () => {
    const q = buildQuery('a.example', 'A', { id: 1, udpSize: 1232 });
    const up = toUpstreamQuery(q, parseMessage(q), { id: 2, padBlock: 128, keepalive: true });
    const answer = buildAnswer(up, { keepaliveTimeout: 50, padAnswers: true });
    const msg = parseMessage(answer);
    assert.equal(keepaliveTimeoutMs(answer, msg), 5000);
    const out = toClientAnswer(answer, msg, 0xbeef, true);
    assert.equal(out.readUInt16BE(0), 0xbeef);
    assert.deepEqual(codes(out), []);
    assert.equal(parseMessage(out).ancount, 1);
  });

  it('removes the OPT record entirely when the client sent none', () => {
    const q = buildQuery('a.example', 'A', { id: 1 });
    const up = toUpstreamQuery(q, parseMessage(q), { id: 2, padBlock: 128, keepalive: true });
    const out = toClientAnswer(
      buildAnswer(up, { keepaliveTimeout: 50 }),
      parseMessage(buildAnswer(up, { keepaliveTimeout: 50 })),
      1,
      false,
    );
    const msg = parseMessage(out);
    assert.equal(msg.opt, undefined);
    assert.equal(msg.arcount, 0);
  });
});

describe('truncateAnswer and errorAnswer', () => {
  it('cuts an answer down to header, question and OPT with TC set', () => {
    const q = buildQuery('big.example', 'TXT', { udpSize: 1232 });
    const answer = buildAnswer(q, { bigTxtBytes: 3000 });
    const out = truncateAnswer(answer, parseMessage(answer));
    const msg = parseMessage(out);
    assert.equal(out[2]! & 0x02, 0x02);
    assert.equal(msg.ancount, 0);
    assert.notEqual(msg.opt, undefined);
    assert.equal(msg.question?.key, 'big.example./16/1');
  });

  it('echoes ID, question, RD and CD in a SERVFAIL, with an OPT only if the client sent one', () => {
    const q = buildQuery('a.example', 'A', { id: 4242, cd: true, do: true });
    const out = errorAnswer(q, parseMessage(q), RCODE.SERVFAIL);
    const msg = parseMessage(out);
    assert.equal(msg.id, 4242);
    assert.equal(out[3]! & 0x0f, RCODE.SERVFAIL);
    assert.equal(out[3]! & 0x10, 0x10);
    assert.equal(out[2]! & 0x81, 0x81);
    assert.equal((msg.opt?.ttlField ?? 0) & 0x8000, 0x8000);
    const plain = buildQuery('a.example', 'A');
    assert.equal(parseMessage(errorAnswer(plain, parseMessage(plain), RCODE.SERVFAIL)).opt, undefined);
  });

  it('answers FORMERR with the header alone when the question cannot be read', () => {
    const out = errorAnswer(
      Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]),
      undefined,
      RCODE.FORMERR,
    );
    assert.equal(out.length, 12);
    assert.equal(out.readUInt16BE(0), 9);
    assert.equal(out[3]! & 0x0f, RCODE.FORMERR);
  });
});

describe('ECS privacy (RFC 7871 sec. 7.1.2)', () => {
  const clientEcs = { code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2]) };
  const cookie = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };

  it("replaces the client's ECS with source prefix 0 in the same pass that pads", () => {
    const q = buildQuery('a.example', 'A', { ednsOptions: [clientEcs, cookie] });
    const out = toUpstreamQuery(q, parseMessage(q), {
      id: 3,
      padBlock: 128,
      keepalive: true,
      ecsPrivate: true,
    });
    assert.equal(out.length % 128, 0);
    assert.deepEqual(codes(out), [10, 8, 11, 12]);
    const ecs = parseMessage(out).opt?.options.find((o) => o.code === 8);
    // FAMILY 1, SOURCE PREFIX-LENGTH 0, SCOPE PREFIX-LENGTH 0, no address octets.
    assert.deepEqual(
      [...out.subarray((ecs?.start ?? 0) + 4, (ecs?.start ?? 0) + 4 + (ecs?.length ?? 0))],
      [0, 1, 0, 0],
    );
    assert.ok(!out.includes(Buffer.from([192, 0, 2])), "the client's subnet does not leave");
  });

  it('adds an OPT to say so even when the client sent none and nothing else would', () => {
    const q = buildQuery('a.example', 'A');
    const out = toUpstreamQuery(q, parseMessage(q), {
      id: 3,
      padBlock: 0,
      keepalive: false,
      ecsPrivate: true,
    });
    assert.deepEqual(codes(out), [8]);
  });

  it('strips ECS from answers, keeping the other options byte for byte', () => {
    const q = buildQuery('a.example', 'A', { ednsOptions: [clientEcs, cookie], udpSize: 1232 });
    const answer = buildAnswer(q, { echoEdnsOptions: true });
    assert.deepEqual(codes(answer), [8, 10]);
    const out = toClientAnswer(answer, parseMessage(answer), 1, true, true);
    assert.deepEqual(codes(out), [10]);
    assert.ok(out.includes(cookie.data));
    assert.deepEqual(codes(toClientAnswer(answer, parseMessage(answer), 1, true, false)), [8, 10]);
  });
});

describe('withoutOptions', () => {
  it('leaves out the chosen options and keeps the rest of the OPT record and the message byte for byte', () => {
    const cookie = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };
    const ecs = { code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2]) };
    const q = buildQuery('MiXeD.Example', 'AAAA', {
      do: true,
      udpSize: 1400,
      ednsOptions: [cookie, ecs, { code: 11, data: Buffer.alloc(0) }],
      pad: 64,
    });
    const msg = parseMessage(q);
    const padding = msg.opt?.options.find((o) => o.code === 12);
    assert.ok(padding !== undefined && msg.opt !== undefined);
    const out = withoutOptions(q, msg, (code) => code === 10 || code === 12);
    const after = parseMessage(out);
    assert.deepEqual(codes(out), [8, 11]);
    assert.equal(out.length, q.length - (4 + cookie.data.length) - (4 + padding.length));
    assert.equal(after.opt?.udpSize, 1400);
    assert.equal(after.opt.ttlField, msg.opt.ttlField);
    assert.equal(after.arcount, msg.arcount);
    assert.ok(out.subarray(0, msg.opt.start).equals(q.subarray(0, msg.opt.start)), 'bytes before the OPT');
    assert.ok(out.includes(ecs.data));
  });

  it('returns a message without an OPT record as it is', () => {
    const q = buildQuery('a.example', 'A');
    assert.equal(
      withoutOptions(q, parseMessage(q), () => true),
      q,
    );
  });
});
