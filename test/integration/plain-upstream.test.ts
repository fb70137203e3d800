// PlainUpstream: clear-text DNS (UDP, TCP on TC) hardened against off-path forgery (RFC 5452), test plan D.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseMessage } from '../../src/dns/wire.js';
import { ConnectError, ConnectionClosedError, QueryTimeoutError } from '../../src/errors.js';
import { PlainUpstream } from '../../src/upstream/plain-upstream.js';
import type { UpstreamAnswer } from '../../src/upstream/upstream.js';
import { systemClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { buildAnswer } from '../helpers/dns-answer.js';
import { buildQuery, parseAnswer, sleep, waitFor, type QueryOptions } from '../helpers/dns-messages.js';
import { startFakePlain, type FakePlain, type FakePlainOptions } from '../helpers/fake-plain.js';

const logger = createLogger({ level: 'error', write: () => undefined });

function plainFor(server: { address: string; port: number }): PlainUpstream {
  return new PlainUpstream({
    spec: { address: server.address, port: server.port },
    clock: systemClock,
    logger,
  });
}

function ask(up: PlainUpstream, query: Buffer, signal = AbortSignal.timeout(3000)): Promise<UpstreamAnswer> {
  return up.exchange(query, parseMessage(query), { signal });
}

async function withPlain(
  opts: FakePlainOptions,
  run: (up: PlainUpstream, server: FakePlain) => Promise<void>,
): Promise<void> {
  const server = await startFakePlain(opts);
  const up = plainFor(server);
  try {
    await run(up, server);
  } finally {
    up.destroy();
    await server.close();
  }
}

const handles = (name: string): number => process.getActiveResourcesInfo().filter((r) => r === name).length;

/** The count of `name` handles once the sockets of earlier tests have finished closing. */
async function settledHandles(name: string): Promise<number> {
  await sleep(50);
  return handles(name);
}

const bindUdp = (address = '127.0.0.1', port = 0): Promise<UdpSocket> =>
  new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(port, address, () => {
      resolve(sock);
    });
  });

/** Linux's UDP autobind range, when it can be read. */
function localPortRange(): [number, number] | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return [Number(low), Number(high)];
  } catch {
    return undefined;
  }
}

describe('clear-text upstream: RFC 5452 forgery resilience (plan D)', () => {
  it('D1: 1000 queries use fresh random source ports and random IDs', async () => {
    await withPlain({}, async (up, server) => {
      const clientId = 0x1234;
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            ask(up, buildQuery(`d1-${batch}-${i}.example`, 'A', { id: clientId })),
          ),
        );
      }
      assert.equal(server.queries.length, 1000);
      const ports = new Set(server.queries.map((q) => q.remotePort));
      const ids = new Set(server.queries.map((q) => q.id));
      // ~28k ports to pick from: ~18 collisions expected among 1000; a fixed port would give 1.
      assert.ok(ports.size >= 900, `only ${ports.size} distinct source ports`);
      // Birthday bound over 65536 IDs: ~7.6 repeats expected among 1000.
      assert.ok(1000 - ids.size < 30, `${1000 - ids.size} repeated IDs`);
      assert.ok(server.queries.filter((q) => q.id === clientId).length <= 2, 'the client ID is not reused');
      const range = localPortRange();
      if (range !== undefined)
        for (const port of ports) assert.ok(port >= range[0] && port <= range[1], `port ${port}`);
      assert.equal(up.counters.udpQueries, 1000);
      assert.equal(up.counters.answers, 1000);
      assert.equal(up.counters.coalesced, 0);
    });
  });

  it('D2: ignores answers from a wrong source, with a wrong ID or question, and takes the genuine one after', async () => {
    const otherPort = await bindUdp();
    otherPort.on('error', () => undefined);
    let otherAddress: UdpSocket | undefined;
    const forged: string[] = [];
    await withPlain(
      {
        onQuery: (q) => {
          // The right name with another type or class.
          const other = (type: string, qclass = 1): Buffer =>
            buildAnswer(buildQuery(q.name, type, { id: q.id, qclass }), { rcode: 'NXDOMAIN' });
          // Right ID and question, but not from the server: a connected socket never even sees these.
          const wrongSource = buildAnswer(q.parsed, { rcode: 'NXDOMAIN' });
          otherPort.send(wrongSource, q.remotePort, q.remoteAddress);
          otherAddress?.send(wrongSource, q.remotePort, q.remoteAddress);
          const notResponse = Buffer.from(q.raw);
          forged.push('sent');
          return {
            delayMs: 100,
            sendFirst: [
              buildAnswer(q.parsed, { id: (q.id + 1) & 0xffff, rcode: 'NXDOMAIN' }),
              // DNSpooq (CVE-2020-25685): names that a weak hash might confuse; same length, one letter off.
              buildAnswer(q.parsed, { name: 'www.exbmple.com', rcode: 'NXDOMAIN' }),
              buildAnswer(q.parsed, { name: 'WWW.EXAMPLF.COM', rcode: 'NXDOMAIN' }),
              other('AAAA'),
              other('A', 3),
              notResponse,
              Buffer.from('definitely not DNS'),
              buildAnswer(q.parsed).subarray(0, 20),
            ],
          };
        },
      },
      async (up, server) => {
        // Right port, wrong address: 127.0.0.2 is loopback too on Linux.
        otherAddress = await bindUdp('127.0.0.2', server.port).catch(() => undefined);
        otherAddress?.on('error', () => undefined);
        const answer = parseAnswer((await ask(up, buildQuery('www.example.com', 'A'))).answer);
        assert.equal(forged.length, 1);
        assert.equal(answer.rcode, 'NOERROR');
        assert.deepEqual(answer.answerData, ['192.0.2.1']);
        assert.equal(
          up.counters.spoofSuspects,
          6,
          'wrong ID, 2 near-miss names, wrong type, wrong class, QR=0',
        );
        assert.equal(up.counters.malformed, 2);
        assert.equal(up.counters.answers, 1);
      },
    );
    otherPort.close();
    otherAddress?.close();
  });

  it('accepts the genuine answer with its name in another case (RFC 4343) and keeps that case', async () => {
    await withPlain(
      {
        onQuery: (q) => ({ drop: true, sendFirst: [buildAnswer(q.parsed, { name: 'WwW.ExAmPlE.CoM' })] }),
      },
      async (up) => {
        const answer = parseAnswer((await ask(up, buildQuery('www.example.com', 'A'))).answer);
        assert.equal(answer.rcode, 'NOERROR');
        assert.equal(answer.question?.name, 'WwW.ExAmPlE.CoM');
        assert.equal(up.counters.spoofSuspects, 0);
      },
    );
  });

  it('D3: coalesces 50 identical concurrent queries into one upstream query', async () => {
    await withPlain({ onQuery: () => ({ delayMs: 50 }) }, async (up, server) => {
      const query = buildQuery('same.example', 'A', { do: true });
      const answers = await Promise.all(Array.from({ length: 50 }, () => ask(up, query)));
      assert.equal(server.queries.length, 1);
      assert.equal(up.counters.coalesced, 49);
      assert.equal(up.counters.queries, 50);
      for (const a of answers) assert.equal(a, answers[0], 'every caller gets the same answer');
      assert.equal(parseAnswer(answers[0]!.answer).rcode, 'NOERROR');
      // Once answered, the same query goes upstream again.
      await ask(up, query);
      assert.equal(server.queries.length, 2);
    });
  });

  it('D3: does not coalesce queries that differ in DO, RD, CD, EDNS or cookie; padding does not count', async () => {
    await withPlain({ onQuery: () => ({ delayMs: 50 }) }, async (up, server) => {
      const cookie = (b: number): QueryOptions => ({ ednsOptions: [{ code: 10, data: Buffer.alloc(8, b) }] });
      const variants: QueryOptions[] = [
        { do: false },
        { do: true },
        { rd: false, edns: true },
        { cd: true, edns: true },
        {},
        cookie(1),
        cookie(2),
        { pad: 128 },
      ];
      await Promise.all(variants.map((v) => ask(up, buildQuery('vary.example', 'A', v))));
      // { do: false } and { pad: 128 } are the same query once padding (hop-by-hop) is set aside.
      assert.equal(server.queries.length, variants.length - 1);
      assert.equal(up.counters.coalesced, 1);
    });
  });

  it('coalesces queries that differ only in name case, and each caller gets its own spelling back', async () => {
    await withPlain({ onQuery: () => ({ delayMs: 50 }) }, async (up, server) => {
      const [lower, mixed] = await Promise.all([
        ask(up, buildQuery('case.example', 'A')),
        ask(up, buildQuery('CaSe.ExAmple', 'A')),
      ]);
      assert.equal(server.queries.length, 1);
      assert.equal(parseAnswer(lower.answer).question?.name, 'case.example');
      assert.equal(parseAnswer(mixed.answer).question?.name, 'CaSe.ExAmple');
      assert.deepEqual(parseAnswer(mixed.answer).answerData, ['192.0.2.1']);
    });
  });

  it('a caller that gives up leaves the others waiting; the query stops when the last one leaves', async () => {
    await withPlain({ onQuery: () => ({ delayMs: 200 }) }, async (up) => {
      const query = buildQuery('patient.example', 'A');
      const early = ask(up, query, AbortSignal.timeout(30));
      const late = ask(up, query, AbortSignal.timeout(2000));
      await assert.rejects(early, QueryTimeoutError);
      assert.equal(parseAnswer((await late).answer).rcode, 'NOERROR');
    });
  });
});

describe('clear-text upstream: transport', () => {
  it('retries a truncated UDP answer over TCP and returns the full answer', async () => {
    await withPlain({ truncateUdp: true }, async (up, server) => {
      const query = buildQuery('big.example', 'TXT');
      const result = await ask(up, query);
      assert.equal(result.transport, 'tcp');
      assert.equal(result.auth, undefined);
      const answer = parseAnswer(result.answer);
      assert.equal(answer.tc, false);
      assert.equal(answer.answers?.length, 1);
      assert.deepEqual(
        server.queries.map((q) => q.transport),
        ['udp', 'tcp'],
      );
      assert.equal(up.counters.tcpRetries, 1);
      // The TCP query is the client's too, with its own random ID.
      const tcp = server.queries[1]!;
      const expected = Buffer.from(query);
      expected.writeUInt16BE(tcp.id, 0);
      assert.deepEqual(tcp.raw, expected);
    });
  });

  it('retries over TCP even when the truncated UDP answer is cut mid-record', async () => {
    await withPlain(
      {
        onQuery: (q) => {
          if (q.transport === 'tcp') return undefined;
          const cut = Buffer.from(buildAnswer(q.parsed, { bigTxtBytes: 2000 }).subarray(0, 600));
          cut[2] = cut[2]! | 0x02;
          return { drop: true, sendFirst: [cut] };
        },
      },
      async (up) => {
        const result = await ask(up, buildQuery('cut.example', 'TXT', { udpSize: 4096 }));
        assert.equal(result.transport, 'tcp');
        assert.equal(up.counters.malformed, 0);
      },
    );
  });

  it('answers over UDP with transport udp, and works over IPv6', async (t) => {
    let server: FakePlain;
    try {
      server = await startFakePlain({ host: '::1' });
    } catch {
      t.skip('no IPv6 loopback');
      return;
    }
    const up = plainFor(server);
    try {
      assert.equal(up.id, `[::1]#${server.port} (clear)`);
      const result = await ask(up, buildQuery('v6.example', 'AAAA'));
      assert.equal(result.transport, 'udp');
      assert.deepEqual(parseAnswer(result.answer).answerData, ['2001:db8::1']);
    } finally {
      up.destroy();
      await server.close();
    }
  });

  it('sends the client query unchanged but for the ID, without client padding or keepalive', async () => {
    await withPlain({}, async (up, server) => {
      const ecs = { code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2]) };
      const cookie = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };
      const keepalive = { code: 11, data: Buffer.alloc(0) };
      const padded = buildQuery('Mixed.Example', 'HTTPS', {
        id: 7,
        do: true,
        cd: true,
        udpSize: 4000,
        ednsOptions: [keepalive, cookie, ecs],
        pad: 128,
      });
      assert.equal(padded.length % 128, 0);
      await ask(up, padded);
      const sent = server.queries[0]!;
      const expected = buildQuery('Mixed.Example', 'HTTPS', {
        id: sent.id,
        do: true,
        cd: true,
        udpSize: 4000,
        ednsOptions: [cookie, ecs],
      });
      assert.deepEqual(sent.raw, expected);
      // No OPT from the client: none is added (no padding in clear).
      const bare = buildQuery('plain.example', 'TYPE65535', { qclass: 3, rd: false });
      await ask(up, bare);
      const sentBare = server.queries[1]!;
      const expectedBare = Buffer.from(bare);
      expectedBare.writeUInt16BE(sentBare.id, 0);
      assert.deepEqual(sentBare.raw, expectedBare);
      assert.equal(sentBare.parsed.edns, undefined);
    });
  });
});

describe('clear-text upstream: failures and lifecycle', () => {
  it('times out at the signal when the server never answers, and closes its socket', async () => {
    await withPlain({ onQuery: () => ({ drop: true }) }, async (up) => {
      const baseline = await settledHandles('UDPWrap');
      const started = Date.now();
      const pending = ask(up, buildQuery('silent.example', 'A'), AbortSignal.timeout(200));
      await sleep(50);
      assert.equal(handles('UDPWrap'), baseline + 1, 'one socket for the query');
      await assert.rejects(pending, QueryTimeoutError);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 1500, `${elapsed} ms`);
      await waitFor(() => handles('UDPWrap') <= baseline, 2000, 'the query socket to close');
    });
  });

  it('times out during the TCP retry too, and closes that connection', async () => {
    await withPlain(
      { truncateUdp: true, onQuery: (q) => (q.transport === 'tcp' ? { drop: true } : undefined) },
      async (up) => {
        const udp = await settledHandles('UDPWrap');
        const tcp = await settledHandles('TCPSocketWrap');
        await assert.rejects(
          ask(up, buildQuery('slow-tcp.example', 'A'), AbortSignal.timeout(300)),
          QueryTimeoutError,
        );
        await waitFor(
          () => handles('UDPWrap') <= udp && handles('TCPSocketWrap') <= tcp,
          2000,
          'the sockets to close',
        );
      },
    );
  });

  it('fails promptly with ConnectError when the port is closed (ICMP port unreachable)', async () => {
    const probe = await bindUdp();
    const port = probe.address().port;
    await new Promise<void>((resolve) => {
      probe.close(resolve);
    });
    const up = plainFor({ address: '127.0.0.1', port });
    const started = Date.now();
    const err: unknown = await ask(up, buildQuery('closed.example', 'A')).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, 'ERR_DOTSTUB_CONNECT');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1#${port} \\(clear\\)`));
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.ok(Date.now() - started < 1000);
    up.destroy();
  });

  it('fails with ConnectError when the TCP retry is refused', async () => {
    // A UDP-only server that always truncates: nothing listens on its TCP port.
    const udpOnly = await bindUdp();
    udpOnly.on('message', (msg, rinfo) => {
      udpOnly.send(buildAnswer(msg, { truncated: true }), rinfo.port, rinfo.address);
    });
    const up = plainFor({ address: '127.0.0.1', port: udpOnly.address().port });
    try {
      await assert.rejects(ask(up, buildQuery('tc.example', 'A')), ConnectError);
      assert.equal(up.counters.tcpRetries, 1);
    } finally {
      up.destroy();
      udpOnly.close();
    }
  });

  it('close() waits for queries in flight, then refuses new ones', async () => {
    await withPlain({ onQuery: () => ({ delayMs: 150 }) }, async (up) => {
      const pending = ask(up, buildQuery('inflight.example', 'A'));
      await sleep(20);
      let closed = false;
      const closing = up.close().then(() => (closed = true));
      await sleep(50);
      assert.equal(closed, false);
      assert.equal(parseAnswer((await pending).answer).rcode, 'NOERROR');
      await closing;
      await assert.rejects(ask(up, buildQuery('late.example', 'A')), ConnectionClosedError);
    });
  });

  it('destroy() fails queries in flight at once and closes their sockets', async () => {
    await withPlain({ onQuery: () => ({ drop: true }) }, async (up) => {
      const baseline = await settledHandles('UDPWrap');
      const pending = ask(up, buildQuery('doomed.example', 'A'));
      await sleep(20);
      const reason = new Error('shutting down');
      up.destroy(reason);
      await assert.rejects(pending, (err) => err === reason);
      await waitFor(() => handles('UDPWrap') <= baseline, 2000, 'the query socket to close');
      await assert.rejects(ask(up, buildQuery('after.example', 'A')), ConnectionClosedError);
    });
  });

  it('names itself as clear text', () => {
    const up = new PlainUpstream({
      spec: { address: '9.9.9.9', authName: 'dns.quad9.net', pins: [] },
      clock: systemClock,
      logger,
    });
    assert.equal(up.id, '9.9.9.9#53 (clear)');
    assert.equal(up.spec.port, 53);
    assert.equal(up.privacy, 'clear');
    const fallback = new PlainUpstream({
      spec: { address: '2620:fe::fe', port: 5353 },
      role: 'fallback',
      clock: systemClock,
      logger,
    });
    assert.equal(fallback.id, '[2620:fe::fe]#5353 (clear, fallback)');
    assert.equal(fallback.privacy, 'fallback');
  });
});
