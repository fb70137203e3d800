import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMessage } from '../../src/dns/wire.js';
import { buildQuery, parseAnswer, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';
import { getTestPki } from '../helpers/test-certs.js';

describe('data path: listeners to a pinned, named TLS upstream', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  before(async () => {
    upstream = await startFakeUpstream({ keepaliveTimeout: 100, padAnswers: true, echoEdnsOptions: true });
    stack = await startStack({
      upstreams: [spec(upstream.port, { authName: 'dot.test', pins: [getTestPki().ca.pin] })],
    });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  it('answers over UDP and TCP with the client ID restored', async () => {
    const viaUdp = parseAnswer(await udpQuery(stack.port, buildQuery('a.example', 'A', { id: 4321 })));
    assert.equal(viaUdp.id, 4321);
    assert.equal(viaUdp.rcode, 'NOERROR');
    assert.equal((viaUdp.answers![0] as { data: string }).data, '192.0.2.1');
    const [viaTcp] = await tcpQuery(stack.port, [buildQuery('b.example', 'AAAA', { id: 77 })]);
    const parsed = parseAnswer(viaTcp!);
    assert.equal(parsed.id, 77);
    assert.equal((parsed.answers![0] as { data: string }).data, '2001:db8::1');
  });

  it('pads every query to 128 octets, asks for keepalive with length 0, sends ECS /0, and shares one connection', async () => {
    const before = upstream.queries.length;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => udpQuery(stack.port, buildQuery(`n${i}.example`, 'A'))),
    );
    const sent = upstream.queries.slice(before);
    assert.equal(sent.length, 30);
    for (const q of sent) {
      assert.equal(q.raw.length % 128, 0, `query of ${q.raw.length} octets`);
      const opt = parseMessage(q.raw).opt;
      assert.deepEqual(
        opt?.options.map((o) => [o.code, o.code === 12 ? -1 : o.length]),
        [
          // ecsPrivate (on by default): ECS with source prefix 0, 4 octets (RFC 7871 sec. 7.1.2).
          [8, 4],
          [11, 0],
          [12, -1],
        ],
      );
    }
    assert.equal(upstream.connections, 1);
  });

  it('strips the upstream keepalive and padding before answering the client', async () => {
    const answer = await udpQuery(stack.port, buildQuery('c.example', 'A', { udpSize: 1232 }));
    const opt = parseMessage(answer).opt;
    assert.notEqual(opt, undefined);
    assert.deepEqual(opt?.options, []);
    const noEdns = parseMessage(await udpQuery(stack.port, buildQuery('d.example', 'A')));
    assert.equal(noEdns.opt, undefined, 'a client without EDNS gets no OPT back');
  });

  it('forwards unknown types, class CH, mixed case, CD, DO and end-to-end options byte for byte', async () => {
    const cookie = { code: 10, data: Buffer.from('0011223344556677', 'hex') };
    const cases = [
      buildQuery('WwW.ExAmPlE.org', 'HTTPS', { do: true, cd: true, ednsOptions: [cookie] }),
      buildQuery('_dns.resolver.arpa', 'SVCB'),
      buildQuery('odd.example', 'TYPE65535'),
      buildQuery('version.bind', 'TXT', { qclass: 3 }),
    ];
    for (const query of cases) {
      const from = upstream.queries.length;
      const answer = await udpQuery(stack.port, query);
      const got = upstream.queries[from]!.raw;
      const q = parseMessage(query);
      const g = parseMessage(got);
      assert.ok(got.subarray(2, 4).equals(query.subarray(2, 4)), 'flags (RD, CD) unchanged');
      assert.ok(
        got.subarray(12, g.question!.end).equals(query.subarray(12, q.question!.end)),
        'question bytes unchanged',
      );
      assert.equal((g.opt?.ttlField ?? 0) & 0x8000, (q.opt?.ttlField ?? 0) & 0x8000, 'DO bit unchanged');
      if (q.opt !== undefined)
        assert.ok(got.includes(Buffer.from('000a00080011223344556677', 'hex')), 'cookie option kept');
      const a = parseMessage(answer);
      assert.ok(
        answer.subarray(12, a.question!.end).equals(query.subarray(12, q.question!.end)),
        'answer question keeps the case',
      );
    }
  });

  it('truncates an answer larger than the client UDP size, and TCP gets it whole', async () => {
    upstream.onQuery = (q) => (q.name.startsWith('big') ? { answer: true, bigTxtBytes: 3000 } : undefined);
    const small = parseMessage(await udpQuery(stack.port, buildQuery('big.example', 'TXT')));
    const udp = await udpQuery(stack.port, buildQuery('big.example', 'TXT'));
    assert.equal(udp.length <= 512, true);
    assert.equal(udp[2]! & 0x02, 0x02, 'TC=1');
    assert.equal(small.ancount, 0);
    const edns = await udpQuery(stack.port, buildQuery('big.example', 'TXT', { udpSize: 1232 }));
    assert.equal(edns.length <= 1232, true);
    assert.equal(edns[2]! & 0x02, 0x02);
    const [tcp] = await tcpQuery(stack.port, [buildQuery('big.example', 'TXT')]);
    assert.ok(tcp!.length > 3000);
    assert.equal(tcp![2]! & 0x02, 0);
    upstream.onQuery = undefined;
  });

  it('matches 20 pipelined answers that come back reversed to clients that all use the same ID', async () => {
    let held = 0;
    upstream.onQuery = (q) =>
      q.name.startsWith('rev')
        ? ++held === 20
          ? { hold: true, release: { reverse: true } }
          : { hold: true }
        : undefined;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        tcpQuery(stack.port, [buildQuery(`rev${i}.example`, 'A', { id: 1 })], { timeoutMs: 3000 }),
      ),
    );
    answers.forEach(([a], i) => {
      const parsed = parseAnswer(a!);
      assert.equal(parsed.id, 1);
      assert.equal(parsed.questions?.[0]?.name, `rev${i}.example`);
    });
    upstream.onQuery = undefined;
  });

  it('answers many queries pipelined on one client TCP connection', async () => {
    const queries = Array.from({ length: 50 }, (_, i) => buildQuery(`p${i}.example`, 'A', { id: i }));
    const answers = await tcpQuery(stack.port, queries, { timeoutMs: 3000 });
    assert.deepEqual(
      answers.map((a) => parseAnswer(a).id).sort((x, y) => x - y),
      queries.map((_, i) => i),
    );
  });
});
