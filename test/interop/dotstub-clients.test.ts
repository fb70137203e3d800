// Real clients (kdig, dig, getdns_query) ask dotstub over UDP and TCP; dotstub forwards over DoT to a real
// unbound, authenticated by SPKI pin and by the name dot.test against the test CA (Strict, RFC 8310).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  absentName,
  BIG_NAME,
  BIG_TXT_COUNT,
  bigTXT,
  daemonKind,
  dig,
  explain,
  getdnsQuery,
  hostA,
  hostAAAA,
  hostName,
  hostTXT,
  InteropEnv,
  kdig,
  requirePeer,
  type DnsResult,
  type Transport,
} from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

const tools = { kdig, dig, getdns_query: getdnsQuery } as const;
type ToolName = keyof typeof tools;

/** Type and data of each answer record, in order. */
function rdata(r: DnsResult): string[][] {
  return r.answers.map((a) => [a.type, a.data]);
}

interface Case {
  readonly tool: ToolName;
  readonly transport: Transport;
  readonly name: string;
  readonly type: string;
  readonly expected: string[][];
}

const cases: Case[] = [
  { tool: 'kdig', transport: 'udp', name: hostName(1), type: 'A', expected: [['A', hostA(1)]] },
  { tool: 'kdig', transport: 'tcp', name: hostName(1234), type: 'A', expected: [['A', hostA(1234)]] },
  { tool: 'dig', transport: 'udp', name: hostName(7), type: 'AAAA', expected: [['AAAA', hostAAAA(7)]] },
  { tool: 'dig', transport: 'udp', name: hostName(7), type: 'TXT', expected: [['TXT', `"${hostTXT(7)}"`]] },
  { tool: 'dig', transport: 'tcp', name: hostName(42), type: 'AAAA', expected: [['AAAA', hostAAAA(42)]] },
  { tool: 'dig', transport: 'tcp', name: hostName(42), type: 'TXT', expected: [['TXT', `"${hostTXT(42)}"`]] },
  { tool: 'getdns_query', transport: 'udp', name: hostName(300), type: 'A', expected: [['A', hostA(300)]] },
  {
    tool: 'getdns_query',
    transport: 'tcp',
    name: hostName(301),
    type: 'AAAA',
    expected: [['AAAA', hostAAAA(301)]],
  },
  {
    tool: 'getdns_query',
    transport: 'tcp',
    name: hostName(150),
    type: 'TXT',
    expected: [['TXT', `"${hostTXT(150)}"`]],
  },
];

for (const c of cases) {
  void test(`${c.tool} over ${c.transport.toUpperCase()} gets ${c.name} ${c.type} through ${daemonKind}`, async (t) => {
    if (!requirePeer(t, c.tool)) return;
    const d = await env.dotstub(t);
    if (!d) return;
    const r = await tools[c.tool](d.port, c.name, c.type, { transport: c.transport });
    assert.equal(r.status, 'NOERROR', explain(r, d));
    assert.deepEqual(rdata(r), c.expected, explain(r, d));
    assert.equal(r.transport, c.transport.toUpperCase(), explain(r, d));
    assert.ok(!r.flags.includes('tc'), explain(r, d));
  });
}

for (const [tool, transport] of [
  ['kdig', 'udp'],
  ['dig', 'tcp'],
  ['getdns_query', 'udp'],
] as const) {
  void test(`${tool} over ${transport.toUpperCase()}: NXDOMAIN for an absent name is passed through`, async (t) => {
    if (!requirePeer(t, tool)) return;
    const d = await env.dotstub(t);
    if (!d) return;
    const r = await tools[tool](d.port, absentName(5), 'A', { transport });
    assert.equal(r.status, 'NXDOMAIN', explain(r, d));
    assert.deepEqual(r.answers, [], explain(r, d));
  });
}

for (const [type, transport] of [
  ['HTTPS', 'udp'],
  ['TYPE65', 'tcp'],
  ['TYPE65535', 'udp'],
  ['TYPE65535', 'tcp'],
] as const) {
  void test(`query type ${type} over ${transport.toUpperCase()} passes through as NODATA (not FORMERR/SERVFAIL)`, async (t) => {
    if (!requirePeer(t, 'dig')) return;
    const d = await env.dotstub(t);
    if (!d) return;
    const r = await dig(d.port, hostName(5), type, { transport });
    assert.equal(r.status, 'NOERROR', explain(r, d));
    assert.deepEqual(r.answers, [], explain(r, d));
    assert.match(
      r.tool.stdout,
      type === 'TYPE65535' ? /IN\s+TYPE65535/ : /IN\s+(HTTPS|TYPE65)\b/,
      explain(r, d),
    );
  });
}

for (const transport of ['udp', 'tcp'] as const) {
  void test(`mixed-case qname over ${transport.toUpperCase()} comes back exactly as sent`, async (t) => {
    if (!requirePeer(t, 'dig')) return;
    const d = await env.dotstub(t);
    if (!d) return;
    const qname = transport === 'udp' ? 'HoSt9.InTeRoP.TeSt' : 'hOsT10.iNtErOp.tEsT';
    const r = await dig(d.port, qname, 'A', { transport, extra: ['+nocookie'] });
    assert.equal(r.status, 'NOERROR', explain(r, d));
    assert.equal(r.questionName, `${qname}.`, explain(r, d));
    assert.equal(r.answers.length, 1, explain(r, d));
    assert.equal(r.answers[0]?.name.toLowerCase(), `${qname.toLowerCase()}.`, explain(r, d));
  });
}

// RFC 6891 §7: no OPT record in an answer to a query that had none.
const stubbyAddsOpt =
  daemonKind === 'stubby' ? 'stubby 0.3.0 adds an OPT record to answers to non-EDNS queries' : false;
void test('a client without EDNS gets an answer without OPT over UDP', { todo: stubbyAddsOpt }, async (t) => {
  if (!requirePeer(t, 'dig')) return;
  const d = await env.dotstub(t);
  if (!d) return;
  const r = await dig(d.port, hostName(11), 'A', { transport: 'udp', extra: ['+noedns'] });
  assert.equal(r.status, 'NOERROR', explain(r, d));
  assert.deepEqual(rdata(r), [['A', hostA(11)]], explain(r, d));
  assert.doesNotMatch(r.tool.stdout, /OPT PSEUDOSECTION/, explain(r, d));
});

// The upstream pads its TLS answers to 468 bytes (RFC 8467) and may send edns-tcp-keepalive (RFC 7828): both
// are hop-by-hop options of the TLS leg and must not reach a clear-text client.
for (const transport of ['udp', 'tcp'] as const) {
  void test(`answers over ${transport.toUpperCase()} carry no padding or keepalive option from the TLS leg`, async (t) => {
    if (!requirePeer(t, 'dig')) return;
    const d = await env.dotstub(t);
    if (!d) return;
    const r = await dig(d.port, hostName(12), 'A', { transport, extra: ['+nocookie'] });
    assert.equal(r.status, 'NOERROR', explain(r, d));
    assert.deepEqual(rdata(r), [['A', hostA(12)]], explain(r, d));
    assert.doesNotMatch(r.tool.stdout, /PADDING|KEEPALIVE/i, explain(r, d));
    const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(r.tool.stdout)?.[1]);
    assert.ok(size < 128, `answer of ${size} bytes: still padded?\n${explain(r, d)}`);
  });
}

void test('an answer too big for UDP comes back truncated (TC) over UDP and whole over TCP', async (t) => {
  if (!requirePeer(t, 'dig')) return;
  const d = await env.dotstub(t);
  if (!d) return;
  for (const extra of [['+noedns'], ['+bufsize=1232']]) {
    const udp = await dig(d.port, BIG_NAME, 'TXT', { transport: 'udp', extra });
    assert.equal(udp.status, 'NOERROR', explain(udp, d));
    assert.ok(udp.flags.includes('tc'), `expected TC with ${extra.join(' ')}\n${explain(udp, d)}`);
    assert.ok(udp.answers.length < BIG_TXT_COUNT, explain(udp, d));
  }
  const tcp = await dig(d.port, BIG_NAME, 'TXT', { transport: 'tcp' });
  assert.equal(tcp.status, 'NOERROR', explain(tcp, d));
  const texts = tcp.answers.map((a) => a.data).sort();
  assert.deepEqual(
    texts,
    Array.from({ length: BIG_TXT_COUNT }, (_, i) => `"${bigTXT(i)}"`).sort(),
    explain(tcp, d),
  );
});

void test('unbound received the forwarded queries over TLS', async (t) => {
  const ub = await env.unbound(t);
  if (!ub) return;
  const d = await env.dotstub(t);
  if (!d) return;
  assert.ok((await ub.queriesReceived()) > 0);
});

const notDotstub = daemonKind === 'dotstub' ? false : `${daemonKind} is not dotstub`;
void test('dotstub exits 0 on SIGTERM', { skip: notDotstub }, async (t) => {
  const d = await env.dotstub(t);
  if (!d) return;
  const exit = await d.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, d.process.tail());
});
