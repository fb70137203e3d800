// Mutated answers from the upstream (issue 7, "Bad input"; dnsdist's test_BrokenAnswer): wrong lengths, bad
// compression pointers, several OPT records or padding options, lying frame prefixes. The client gets
// SERVFAIL within the deadline (never garbage, never silence), nothing throws, and the next good query is
// answered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMessage } from '../../src/dns/wire.js';
import { buildQuery, parseAnswer, sleep, tcpQuery, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream, type Action, type FakeUpstream } from '../helpers/fake-upstream.js';
import { trackUnhandled } from '../helpers/load.js';
import { mutate, seededRandom } from '../helpers/mutate.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

/** Where the first answer record starts: after the header and the (uncompressed) question. */
function questionEnd(a: Buffer): number {
  let pos = 12;
  while (a[pos] !== 0) pos += a[pos]! + 1;
  return pos + 5;
}

const set16 = (a: Buffer, at: number, v: number): Buffer => {
  const out = Buffer.from(a);
  out.writeUInt16BE(v, at);
  return out;
};

/** Each case turns the good answer (one A record, then the OPT record) into a broken one. */
const CASES: readonly [string, (a: Buffer, qe: number) => Action][] = [
  ['RDLENGTH past the end', (a, qe) => ({ raw: set16(a, qe + 10, 0x200) })],
  ['RDLENGTH too short, bytes left over', (a, qe) => ({ raw: set16(a, qe + 10, 2) })],
  ['ANCOUNT larger than the records', (a) => ({ raw: set16(a, 6, 5) })],
  ['a forward compression pointer', (a, qe) => ({ raw: set16(a, qe, 0xc000 | (a.length - 2)) })],
  ['a compression pointer to itself', (a, qe) => ({ raw: set16(a, qe, 0xc000 | qe) })],
  ['an OPT record in the answer section', (a, qe) => ({ raw: set16(a, qe + 2, 41) })],
  ['two OPT records', (a, qe) => ({ raw: set16(Buffer.concat([a, a.subarray(qe + 16, qe + 27)]), 10, 2) })],
  [
    'two padding options',
    (a, qe) => {
      const out = Buffer.concat([a, Buffer.from([0, 12, 0, 1, 0, 0, 12, 0, 0])]);
      return { raw: set16(out, qe + 16 + 9, out.readUInt16BE(qe + 16 + 9) + 9) };
    },
  ],
  ['cut short', (a) => ({ raw: a.subarray(0, a.length - 5) })],
  [
    'a frame prefix shorter than the message',
    (a) => ({ rawBytes: Buffer.concat([set16(Buffer.alloc(2), 0, a.length - 9), a]) }),
  ],
  [
    'a frame prefix longer than the message',
    (a) => ({ rawBytes: Buffer.concat([set16(Buffer.alloc(2), 0, a.length + 40), a]) }),
  ],
];

describe('mutated answers from the upstream', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  before(async () => {
    upstream = await startFakeUpstream({});
    stack = await startStack({
      upstreams: [spec(upstream.port)],
      timeoutMs: 1500,
      // Broken answers back the upstream off: keep the steps tiny so each case starts afresh.
      backoff: { baseMs: 1, capMs: 1, jitter: 0 },
    });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  /**
   * The broken answers backed the upstream off; the daemon lets one probe through at a time (at most one a
   * second while every upstream is backing off), so the next good query may get SERVFAIL until that probe
   * has passed. What must hold: service comes back by itself, within a few seconds.
   */
  async function answeredAgain(name: string): Promise<string | undefined> {
    const deadline = Date.now() + 4000;
    for (;;) {
      const rcode = parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'))).rcode;
      if (rcode === 'NOERROR' || Date.now() > deadline) return rcode;
      await sleep(100);
    }
  }

  for (const [what, corrupt] of CASES) {
    it(`${what}: SERVFAIL to UDP and TCP clients, then the next query is answered`, async () => {
      const unhandled = trackUnhandled();
      upstream.onQuery = (q, ctx) => {
        if (!q.name.startsWith('broken')) return undefined;
        const good = ctx.answer();
        return corrupt(good, questionEnd(good));
      };
      const before = upstream.queries.length;
      const started = Date.now();
      const [udp, [tcp]] = await Promise.all([
        udpQuery(stack.port, buildQuery('broken-u.example', 'A', { id: 11 }), { timeoutMs: 4000 }),
        tcpQuery(stack.port, [buildQuery('broken-t.example', 'A', { id: 12 })], { timeoutMs: 4000 }),
      ]);
      const elapsed = Date.now() - started;
      for (const [answer, id] of [
        [udp, 11],
        [tcp!, 12],
      ] as const) {
        const parsed = parseAnswer(answer);
        assert.equal(parsed.rcode, 'SERVFAIL');
        assert.equal(parsed.id, id);
      }
      assert.ok(elapsed < 3500, `answered after ${elapsed} ms (deadline 1500 ms)`);
      const seen = upstream.queries.slice(before);
      // The first broken answer backs the upstream off; a query arriving in that instant may get its
      // SERVFAIL without reaching the upstream at all (Node 26 in CI showed it). Never more than the
      // retry budget, and at least one of the two got there.
      const copies = ['broken-u.example', 'broken-t.example'].map(
        (name) => seen.filter((x) => x.name === name).length,
      );
      for (const n of copies) assert.ok(n <= 4, `a broken query reached the upstream ${n} times`);
      assert.ok(copies[0]! + copies[1]! >= 1, 'the broken answers came from the upstream');
      upstream.onQuery = undefined;
      assert.equal(await answeredAgain('good.example'), 'NOERROR');
      await waitFor(() => stack.daemon.resolver.outstanding === 0, 3000, 'nothing outstanding');
      assert.ok(stack.daemon.upstreams[0]!.connections.every((c) => c.inFlight === 0));
      unhandled.stop();
      assert.deepEqual(unhandled.errors, []);
    });
  }

  it('300 answers mutated after the question: every client gets a well-formed reply with its ID', async () => {
    const unhandled = trackUnhandled();
    const rand = seededRandom(0xa45);
    upstream.onQuery = (q, ctx) => {
      if (!q.name.startsWith('fz')) return undefined;
      const good = ctx.answer({ bigTxtBytes: rand(3) === 0 ? 600 : 0 });
      return { raw: mutate(good, rand, questionEnd(good)) };
    };
    const ids = Array.from({ length: 300 }, (_, i) => i);
    const rcodes = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(
        ids.slice(i, i + 20).map(async (id) => {
          const reply = await udpQuery(
            stack.port,
            buildQuery(`fz${id}.example`, 'TXT', { id, udpSize: 1232 }),
            {
              timeoutMs: 4000,
            },
          );
          const msg = parseMessage(reply); // strictly well-formed, whatever the upstream sent
          assert.equal(msg.id, id);
          const rcode = parseAnswer(reply).rcode;
          rcodes.set(rcode, (rcodes.get(rcode) ?? 0) + 1);
        }),
      );
    }
    upstream.onQuery = undefined;
    assert.ok((rcodes.get('SERVFAIL') ?? 0) > 0, `some answers were refused: ${JSON.stringify([...rcodes])}`);
    await waitFor(() => stack.daemon.resolver.outstanding === 0, 3000, 'nothing outstanding');
    unhandled.stop();
    assert.deepEqual(unhandled.errors, []);
    assert.equal(await answeredAgain('good2.example'), 'NOERROR');
  });
});
