import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { encodeFrame } from '../../src/dns/length-prefix.js';
import { buildQuery, parseAnswer, sleep, tcpQuery, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

const rcodeOf = (buf: Buffer): number => buf[3]! & 0x0f;

describe('listeners: bad input gets a clear answer and loses nothing', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  before(async () => {
    upstream = await startFakeUpstream({});
    stack = await startStack({
      upstreams: [spec(upstream.port)],
      tcp: {
        maxConnections: 20,
        idleTimeoutMs: 500,
        partialFrameTimeoutMs: 300,
        maxInFlightPerClient: 16,
        maxPendingOutputBytes: 64 * 1024,
      },
    });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  it('answers FORMERR to malformed queries whose header it can read, and keeps working', async () => {
    const good = buildQuery('a.example', 'A', { id: 0x0102 });
    const bad = [
      Buffer.concat([
        good.subarray(0, 12),
        Buffer.from([64]),
        Buffer.alloc(64, 0x61),
        Buffer.from([0, 0, 1, 0, 1]),
      ]),
      Buffer.concat([good, Buffer.from([9, 9, 9])]),
      Buffer.concat([good.subarray(0, 4), Buffer.from([0, 0]), good.subarray(6)]), // QDCOUNT 0
      Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), // pointer loop
    ];
    for (const query of bad) {
      const answer = await udpQuery(stack.port, query);
      assert.equal(answer.readUInt16BE(0), 0x0102);
      assert.equal(rcodeOf(answer), 1, 'FORMERR');
    }
    assert.equal(upstream.queries.length, 0, 'nothing malformed was forwarded');
    assert.equal(parseAnswer(await udpQuery(stack.port, good)).rcode, 'NOERROR');
  });

  it('answers NOTIMP to other opcodes and ignores messages that are answers or shorter than a header', async () => {
    const notify = buildQuery('a.example', 'SOA');
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    assert.equal(rcodeOf(await udpQuery(stack.port, notify)), 4);
    const response = buildQuery('a.example', 'A');
    response[2] = response[2]! | 0x80;
    await assert.rejects(udpQuery(stack.port, response, { timeoutMs: 300 }), /timed out/);
    await assert.rejects(udpQuery(stack.port, Buffer.from([1, 2, 3]), { timeoutMs: 300 }), /timed out/);
  });

  it('survives 2000 mutated packets over UDP and TCP', async () => {
    const seed = buildQuery('fuzz.example', 'A', {
      udpSize: 1232,
      ednsOptions: [{ code: 10, data: Buffer.alloc(8) }],
    });
    let x = 12345;
    const rand = (n: number): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x % n);
    const mutants = Array.from({ length: 2000 }, () => {
      const m = Buffer.from(seed.subarray(0, 12 + rand(seed.length - 11)));
      for (let k = 0; k < 1 + rand(4); k++) m[rand(m.length)] = rand(256);
      m[2] = m[2]! & 0x7f; // keep them queries, so each gets some answer or a drop
      return m;
    });
    for (let i = 0; i < mutants.length; i += 100) {
      await Promise.allSettled(
        mutants.slice(i, i + 100).map((m) => udpQuery(stack.port, m, { timeoutMs: 1500 })),
      );
    }
    await tcpQuery(
      stack.port,
      mutants.slice(0, 200).filter((m) => m.length >= 12),
      { timeoutMs: 3000, allowEarlyClose: true },
    ).catch(() => undefined);
    assert.equal(
      parseAnswer(await udpQuery(stack.port, buildQuery('after-fuzz.example', 'A'))).rcode,
      'NOERROR',
    );
  });

  it('closes a TCP connection that sends a frame too short for a header, and only that one', async () => {
    const err = await tcpQuery(stack.port, [], {
      rawPayload: Buffer.from([0, 0]),
      expect: 1,
      timeoutMs: 1000,
    }).catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    const [ok] = await tcpQuery(stack.port, [buildQuery('fine.example', 'A')]);
    assert.equal(parseAnswer(ok!).rcode, 'NOERROR');
  });

  it('frees a connection stuck on a partial frame (slowloris) while others are served', async () => {
    const sock = connect(stack.port, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.once('connect', r));
    sock.write(Buffer.from([0, 40, 1, 2, 3]));
    const closed = new Promise<number>((r) => {
      const t = Date.now();
      sock.once('close', () => {
        r(Date.now() - t);
      });
    });
    const started = Date.now();
    const [answer] = await tcpQuery(stack.port, [buildQuery('fresh.example', 'A')]);
    assert.equal(parseAnswer(answer!).rcode, 'NOERROR');
    assert.ok(Date.now() - started < 2000, 'a fresh client is served while the stuck one waits');
    const ms = await closed;
    assert.ok(ms < 3000, `closed after ${ms} ms`);
  });

  it('cuts off a client that pipelines thousands of queries and never reads, without hurting others', async () => {
    const sock = connect(stack.port, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.once('connect', r));
    sock.pause();
    const frames = Array.from({ length: 3000 }, (_, i) =>
      encodeFrame(buildQuery(`flood${i % 50}.example`, 'TXT', { id: i })),
    );
    upstream.onQuery = (q) => (q.name.startsWith('flood') ? { answer: true, bigTxtBytes: 3000 } : undefined);
    sock.write(Buffer.concat(frames));
    // The client is paused, so it cannot see its own connection close: the daemon's log says it.
    const cutOff = (): boolean =>
      stack.log.some((l) => l.includes('closed a TCP client that does not read its answers'));
    const [answer] = await tcpQuery(stack.port, [buildQuery('bystander.example', 'A')], { timeoutMs: 3000 });
    assert.equal(parseAnswer(answer!).rcode, 'NOERROR');
    for (let i = 0; i < 100 && !cutOff(); i++) await sleep(100);
    assert.ok(cutOff(), 'the flooding client was cut off');
    assert.ok(
      upstream.queries.filter((q) => q.name.startsWith('flood')).length < 6000,
      'not every flood query was forwarded',
    );
    upstream.onQuery = undefined;
    sock.destroy();
    await waitFor(
      () => stack.daemon.resolver.outstanding === 0,
      4000,
      'queries of the cut-off client to finish',
    );
  });

  it('closes idle TCP clients', async () => {
    const sock = connect(stack.port, '127.0.0.1');
    const closedAfter = await new Promise<number>((r) => {
      const t = Date.now();
      sock.once('close', () => {
        r(Date.now() - t);
      });
    });
    assert.ok(closedAfter >= 400 && closedAfter < 3000, `closed after ${closedAfter} ms`);
  });
});

describe('outstanding-query limit and shutdown', () => {
  it('answers SERVFAIL at once past the limit instead of queueing', async () => {
    const upstream = await startFakeUpstream({ onQuery: () => ({ delayMs: 500 }) });
    const stack = await startStack({ upstreams: [spec(upstream.port)], maxOutstanding: 5 });
    try {
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          udpQuery(stack.port, buildQuery(`lim${i}.example`, 'A')).then((a) => [
            Date.now() - started,
            rcodeOf(a),
          ]),
        ),
      );
      const fast = answers.filter(([ms, rcode]) => rcode === 2 && ms! < 300);
      const served = answers.filter(([, rcode]) => rcode === 0);
      assert.equal(served.length, 5);
      assert.equal(fast.length, 3);
      assert.equal(stack.daemon.resolver.counters.overloaded, 3);
    } finally {
      await stack.close();
      await upstream.close();
    }
  });

  it('answers the queries in flight when it is closed', async () => {
    const upstream = await startFakeUpstream({ onQuery: () => ({ delayMs: 300 }) });
    const stack = await startStack({ upstreams: [spec(upstream.port)] });
    const pending = Promise.all([
      udpQuery(stack.port, buildQuery('late1.example', 'A')),
      tcpQuery(stack.port, [buildQuery('late2.example', 'A')]),
    ]);
    await upstream.waitForQueries(2);
    await stack.daemon.close();
    const [udp, [tcp]] = await pending;
    assert.equal(parseAnswer(udp).rcode, 'NOERROR');
    assert.equal(parseAnswer(tcp!).rcode, 'NOERROR');
    await upstream.close();
  });
});
