// Test plan C1 and C2: malformed and mutated client queries over UDP and TCP. The daemon answers what has a
// readable header (FORMERR, NOTIMP, or the upstream's answer), drops the rest, forwards only well-formed
// queries, never throws past a listener, and answers the next good query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isResponse, parseMessage } from '../../src/dns/wire.js';
import { buildQuery, parseAnswer, tcpQuery, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { collectGarbage, heapMiB, tcpPipeline, trackUnhandled, udpBlast } from '../helpers/load.js';
import { mutate, seededRandom } from '../helpers/mutate.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

const rcodeOf = (buf: Buffer): number => buf[3]! & 0x0f;
const header = (counts: { qd?: number; an?: number; ar?: number } = {}, flags = 0x0100): Buffer => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x4242, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(counts.qd ?? 1, 4);
  h.writeUInt16BE(counts.an ?? 0, 6);
  h.writeUInt16BE(counts.ar ?? 0, 10);
  return h;
};
const q = Buffer.from([1, 0x61, 0, 0, 1, 0, 1]); // a. A IN
const opt = (rdata: Buffer = Buffer.alloc(0)): Buffer => {
  const o = Buffer.alloc(11);
  o.writeUInt16BE(41, 1);
  o.writeUInt16BE(1232, 3);
  o.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([o, rdata]);
};
const pad = (n: number): Buffer => Buffer.concat([Buffer.from([0, 12, 0, n]), Buffer.alloc(n)]);
const longName = Buffer.concat([
  ...Array.from({ length: 5 }, () => Buffer.from([60, ...Buffer.alloc(60, 0x62)])),
  Buffer.from([0]),
]);

/** The malformed-query list of test plan C1, each with what the client must get back. */
const MALFORMED: readonly [string, Buffer, 'FORMERR' | 'NOTIMP' | 'drop'][] = [
  ['shorter than a header', Buffer.from([0x42, 0x42, 1, 0, 0]), 'drop'],
  ['QR=1 (an answer, not a query)', Buffer.concat([header({}, 0x8100), q]), 'drop'],
  ['QDCOUNT 0', header({ qd: 0 }), 'FORMERR'],
  ['QDCOUNT 2', Buffer.concat([header({ qd: 2 }), q, q]), 'FORMERR'],
  ['unknown opcode 6', Buffer.concat([header({}, 0x3100), q]), 'NOTIMP'],
  [
    'a 64-octet label',
    Buffer.concat([header(), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]),
    'FORMERR',
  ],
  [
    'a name longer than 255 octets',
    Buffer.concat([header(), longName, Buffer.from([0, 1, 0, 1])]),
    'FORMERR',
  ],
  ['a compression loop', Buffer.concat([header(), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), 'FORMERR'],
  [
    'a forward compression pointer',
    Buffer.concat([header(), Buffer.from([0xc0, 14, 0, 1, 0, 1, 1, 0x61, 0])]),
    'FORMERR',
  ],
  ['a truncated record', Buffer.concat([header({ ar: 1 }), q, opt().subarray(0, 7)]), 'FORMERR'],
  ['trailing garbage', Buffer.concat([header(), q, Buffer.from([1, 2, 3])]), 'FORMERR'],
  ['two OPT records', Buffer.concat([header({ ar: 2 }), q, opt(), opt()]), 'FORMERR'],
  [
    'two padding options',
    Buffer.concat([header({ ar: 1 }), q, opt(Buffer.concat([pad(2), pad(3)]))]),
    'FORMERR',
  ],
];

/** Valid queries to mutate: plain, EDNS with a cookie, client padding and keepalive, DO and HTTPS. */
function seeds(): Buffer[] {
  return [
    buildQuery('fuzz.example', 'A'),
    buildQuery('fuzz.example', 'AAAA', {
      udpSize: 1232,
      ednsOptions: [{ code: 10, data: Buffer.alloc(8, 7) }],
    }),
    buildQuery('pad.fuzz.example', 'TXT', {
      udpSize: 4096,
      ednsOptions: [{ code: 11, data: Buffer.alloc(0) }],
      pad: 128,
    }),
    buildQuery('www.fuzz.example', 'HTTPS', { do: true, cd: true }),
  ];
}

function mutants(count: number, seed: number): Buffer[] {
  const rand = seededRandom(seed);
  const base = seeds();
  return Array.from({ length: count }, () => {
    const m = mutate(base[rand(base.length)]!, rand);
    // Most stay queries (QR=0) so they reach the parser; a few are left as they came out.
    if (m.length > 2 && rand(10) > 0) m[2] = m[2]! & 0x7f;
    return m;
  });
}

/** Whether the daemon owes an answer: a readable header and QR=0 (query-handler.ts drops the rest). */
const answerable = (m: Buffer): boolean => m.length >= 12 && !isResponse(m);

describe('malformed and mutated client queries (test plan C1, C2)', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  before(async () => {
    upstream = await startFakeUpstream({ padAnswers: true });
    stack = await startStack({
      upstreams: [spec(upstream.port)],
      maxOutstanding: 4000,
      tcp: {
        maxConnections: 64,
        idleTimeoutMs: 5000,
        partialFrameTimeoutMs: 2000,
        maxInFlightPerClient: 64,
        maxPendingOutputBytes: 1 << 20,
      },
    });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  it('C1 over UDP: FORMERR, NOTIMP or silence as the list says, with the ID echoed; nothing forwarded', async () => {
    for (const [what, query, expected] of MALFORMED) {
      if (expected === 'drop') {
        await assert.rejects(udpQuery(stack.port, query, { timeoutMs: 300 }), /timed out/, what);
        continue;
      }
      const answer = await udpQuery(stack.port, query);
      assert.equal(answer.readUInt16BE(0), 0x4242, what);
      assert.equal(rcodeOf(answer), expected === 'FORMERR' ? 1 : 4, what);
      parseMessage(answer); // our own error answers are well-formed
    }
    assert.equal(upstream.queries.length, 0);
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('ok.example', 'A'))).rcode, 'NOERROR');
  });

  it('C1 over TCP: every answerable one pipelined on one connection gets its answer; the connection survives', async () => {
    const list = MALFORMED.filter(([, m, e]) => e !== 'drop' && m.length >= 12);
    const answers = await tcpQuery(
      stack.port,
      [...list.map(([, m]) => m), buildQuery('ok.example', 'A', { id: 7 })],
      {
        timeoutMs: 3000,
      },
    );
    assert.equal(answers.length, list.length + 1);
    const rcodes = answers.map((a) => rcodeOf(a)).sort();
    assert.deepEqual(rcodes, [...list.map(([, , e]) => (e === 'FORMERR' ? 1 : 4)), 0].sort());
    assert.equal(upstream.queries.filter((x) => x.name !== 'ok.example').length, 0);
  });

  it('C2: 10,000 mutated queries over UDP: each answerable one answered, only well-formed ones forwarded', async () => {
    const unhandled = trackUnhandled();
    collectGarbage();
    const heapBefore = heapMiB();
    const fromUpstream = upstream.queries.length;
    const list = mutants(10_000, 0xc2);
    const expected = list.filter(answerable).length;
    const replies = await udpBlast(stack.port, list, () => stack.daemon.counters.queries.udp, expected);
    await waitFor(() => stack.daemon.resolver.outstanding === 0, 10_000, 'queries in flight to finish');
    unhandled.stop();
    assert.deepEqual(unhandled.errors, []);
    assert.equal(replies.length, expected, 'one reply per answerable datagram');
    for (const r of replies) assert.ok(r.length >= 12 && isResponse(r), 'every reply is a DNS response');
    const forwarded = upstream.queries.slice(fromUpstream);
    assert.ok(forwarded.length > 100, `some mutants were still valid queries (${forwarded.length})`);
    for (const f of forwarded) {
      parseMessage(f.raw); // strictly well-formed
      assert.equal(f.raw.length % 128, 0, 'padded (RFC 8467)');
    }
    assert.equal(upstream.garbage.length, 0);
    collectGarbage();
    assert.ok(heapMiB() - heapBefore < 32, `heap grew by ${(heapMiB() - heapBefore).toFixed(1)} MiB`);
    assert.equal(
      parseAnswer(await udpQuery(stack.port, buildQuery('after-udp.example', 'A'))).rcode,
      'NOERROR',
    );
  });

  it('C2: 10,000 mutated queries over TCP, 2,000 per connection: every answerable frame answered', async () => {
    const unhandled = trackUnhandled();
    // Frames too short for a header close their connection (tested in listeners.test.ts): pad them here.
    const list = mutants(10_000, 0x7c9).map((m) =>
      m.length >= 12 ? m : Buffer.concat([m, Buffer.alloc(12 - m.length)]),
    );
    const chunks = Array.from({ length: 5 }, (_, i) => list.slice(i * 2000, (i + 1) * 2000));
    const answers = await Promise.all(chunks.map((c) => tcpPipeline(stack.port, c)));
    unhandled.stop();
    assert.deepEqual(unhandled.errors, []);
    chunks.forEach((c, i) => {
      assert.equal(answers[i]!.length, c.filter(answerable).length, `connection ${i}`);
    });
    assert.equal(upstream.garbage.length, 0);
    await waitFor(() => stack.daemon.resolver.outstanding === 0, 5000, 'queries in flight to finish');
    const [ok] = await tcpQuery(stack.port, [buildQuery('after-tcp.example', 'A')]);
    assert.equal(parseAnswer(ok!).rcode, 'NOERROR');
  });
});
