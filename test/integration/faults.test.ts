import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { buildQuery, parseAnswer, sleep, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack, type StackOptions } from '../helpers/stack.js';

async function withStack(
  servers: FakeUpstreamOptions[],
  run: (stack: Stack, ups: FakeUpstream[]) => Promise<void>,
  extra: Partial<StackOptions> = {},
): Promise<void> {
  const ups = await Promise.all(servers.map((s) => startFakeUpstream(s)));
  const stack = await startStack({ upstreams: ups.map((u) => spec(u.port)), ...extra });
  try {
    await run(stack, ups);
  } finally {
    await stack.close();
    await Promise.all(ups.map((u) => u.close()));
  }
}

const ask = async (stack: Stack, name: string, timeoutMs = 4000): Promise<ReturnType<typeof parseAnswer>> =>
  parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'), { timeoutMs }));

describe('upstream faults: the client always gets an answer, nothing is lost', () => {
  it('fails over to the next upstream when the first never answers, within the deadline', async () => {
    await withStack([{ onQuery: () => ({ drop: true }) }, {}], async (stack, [stalled, good]) => {
      const started = Date.now();
      // The second attempt sends a query the resolver parsed again (it keeps only the bytes once sent):
      // the answer still has the client's ID, question and EDNS.
      const query = buildQuery('Stall.Example', 'A', { id: 0x1234, udpSize: 1232 });
      const answer = parseAnswer(await udpQuery(stack.port, query, { timeoutMs: 4000 }));
      assert.equal(answer.rcode, 'NOERROR');
      assert.equal(answer.id, 0x1234);
      assert.equal(answer.questions?.[0]?.name, 'Stall.Example');
      assert.ok(
        answer.additionals?.some((r) => r.type === 'OPT'),
        'EDNS in, EDNS out',
      );
      assert.ok(Date.now() - started < 3000);
      assert.equal(stalled!.queries.length, 1);
      assert.equal(good!.queries.length, 1);
    });
  });

  it('asks the next upstream soon when the first one’s handshake hangs, not after the attempt’s budget', async () => {
    // The first attempt's budget is half of 5 s; the hung handshake would hold the query all of it (the
    // connect timeout is longer). Hedging (src/resolver/hedge.ts) asks the second upstream 250 ms in.
    await withStack(
      [{ stallHandshake: true }, {}],
      async (stack, [hung, good]) => {
        const started = Date.now();
        const answer = await ask(stack, 'hung-handshake.example', 6000);
        const tookMs = Date.now() - started;
        assert.equal(answer.rcode, 'NOERROR');
        assert.ok(tookMs < 1500, `answered in ${tookMs} ms; the first attempt's budget is 2500`);
        assert.ok(hung!.connections >= 1, 'the first upstream was tried');
        assert.equal(hung!.queries.length, 0);
        assert.equal(good!.queries.length, 1);
      },
      { timeoutMs: 5000, connectTimeoutMs: 4000 },
    );
  });

  it('retries on a fresh connection the queries a connection dropped after answering 2 of 5 (FIN)', async () => {
    await withStack([{ closeAfterQueries: 2 }], async (stack, [up]) => {
      await ask(stack, 'warm.example'); // the connection is now in use, so its loss is retried
      up!.onQuery = (q) => (q.name.startsWith('five') ? { delayMs: 20 } : undefined);
      const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => ask(stack, `five${i}.example`)));
      assert.deepEqual(
        answers.map((a) => a.rcode),
        ['NOERROR', 'NOERROR', 'NOERROR', 'NOERROR', 'NOERROR'],
      );
      assert.ok(up!.connections >= 2);
    });
  });

  it('retries after a TCP reset in the middle of a pipeline', async () => {
    await withStack([{}], async (stack, [up]) => {
      await ask(stack, 'warm.example');
      let reset = false;
      up!.onQuery = (q) => (q.name === 'rst.example' && !reset ? ((reset = true), { rst: true }) : undefined);
      const answers = await Promise.all([ask(stack, 'rst.example'), ask(stack, 'other.example')]);
      assert.deepEqual(
        answers.map((a) => a.rcode),
        ['NOERROR', 'NOERROR'],
      );
      assert.equal(reset, true);
    });
  });

  it('drops answers with a wrong ID, a wrong question or a duplicate, and delivers the real one once', async () => {
    await withStack([{}], async (stack, [up]) => {
      up!.onQuery = (q, ctx) => {
        if (q.name !== 'match.example') return undefined;
        ctx.sendFrame(ctx.answer({ id: (q.id + 1) & 0xffff }));
        ctx.sendFrame(ctx.answer({ name: 'other.example' }));
        return { duplicate: true };
      };
      const client = await tcpQuery(stack.port, [buildQuery('match.example', 'A', { id: 5 })], { expect: 1 });
      assert.equal(parseAnswer(client[0]!).id, 5);
      await sleep(100);
      assert.equal(stack.daemon.upstreams[0]!.counters.unmatchedAnswers, 3);
      assert.equal((await ask(stack, 'after.example')).rcode, 'NOERROR', 'the connection still works');
    });
  });

  it('drops a connection that sends a garbage frame and answers the query elsewhere', async () => {
    await withStack(
      [
        {
          onQuery: (q) => (q.name === 'garbage.example' ? { raw: Buffer.from('not dns at all') } : undefined),
        },
        {},
      ],
      async (stack, [bad, good]) => {
        const answer = await ask(stack, 'garbage.example');
        assert.equal(answer.rcode, 'NOERROR');
        assert.equal(good!.queries.length, 1);
        assert.equal(bad!.openConnections, 0);
      },
    );
  });

  it('sends no new query on a connection whose server said keepalive 0 (RFC 7828 sec. 3.2.2)', async () => {
    await withStack([{ keepaliveTimeout: 0 }], async (stack, [up]) => {
      await ask(stack, 'k1.example');
      await ask(stack, 'k2.example');
      assert.equal(up!.connections, 2);
      assert.deepEqual(
        up!.queries.map((q) => q.connectionIndex),
        [0, 1],
      );
    });
  });

  it('closes an idle connection before the server keepalive expires', async () => {
    await withStack([{ keepaliveTimeout: 3 }], async (stack, [up]) => {
      await ask(stack, 'idle.example');
      await sleep(600);
      assert.equal(up!.openConnections, 0, 'closed within the 300 ms the server allows (plus slack)');
      assert.equal(up!.connectionLog[0]?.clientEnded, true, 'closed by us, gracefully');
      assert.equal((await ask(stack, 'again.example')).rcode, 'NOERROR');
    });
  });

  it('keeps a connection open for the configured idle time when the server sends no keepalive', async () => {
    await withStack(
      [{}],
      async (stack, [up]) => {
        await ask(stack, 'a.example');
        await sleep(300);
        await ask(stack, 'b.example');
        assert.equal(up!.connections, 1);
        await sleep(600);
        assert.equal(up!.openConnections, 0);
      },
      { idleTimeoutMs: 500 },
    );
  });

  it('answers SERVFAIL promptly when every upstream refuses, and backs off quietly', async () => {
    const closed: Server = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) =>
      closed.close(() => {
        r();
      }),
    );
    const stack = await startStack({
      upstreams: [spec(port), spec(port, { authName: 'dot.test' }, '127.0.0.2')],
    });
    try {
      const started = Date.now();
      // Each SERVFAIL is made from the query's bytes parsed again (the resolver keeps no parse once a query
      // is sent): the client's ID and question, and EDNS since it asked with it.
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const query = buildQuery(`down${i}.example`, 'A', { id: 0x100 + i, udpSize: 1232 });
          return parseAnswer(await udpQuery(stack.port, query, { timeoutMs: 4000 }));
        }),
      );
      assert.ok(answers.every((a) => a.rcode === 'SERVFAIL'));
      assert.deepEqual(
        answers.map((a) => [a.id, a.questions?.[0]?.name, a.additionals?.some((r) => r.type === 'OPT')]),
        answers.map((_, i) => [0x100 + i, `down${i}.example`, true]),
      );
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      const warnings = stack.log.filter((l) => l.includes('backing off'));
      assert.ok(warnings.length <= 2, `one warning per upstream per backoff step, got ${warnings.length}`);
      assert.match(warnings[0] ?? '', /ECONNREFUSED/);
    } finally {
      await stack.close();
    }
  });

  it('recovers without a restart when the upstream comes back after its backoff', async () => {
    let broken = true;
    await withStack([{ connectionFault: () => (broken ? 'rst' : undefined) }], async (stack, [up]) => {
      assert.equal((await ask(stack, 'down.example')).rcode, 'SERVFAIL');
      assert.equal(stack.daemon.resolver.upstreams[0]!.health.state.kind, 'backingOff');
      broken = false;
      await sleep(300); // the test stack backs off 200 ms after the first failure
      assert.equal((await ask(stack, 'up.example')).rcode, 'NOERROR');
      assert.equal(stack.daemon.resolver.upstreams[0]!.health.state.kind, 'healthy');
      assert.equal(up!.queries.length, 1);
    });
  });
  it("queues a burst beyond the connections' in-flight caps instead of failing it", async () => {
    await withStack(
      [{ onQuery: () => ({ delayMs: 100 }) }],
      async (stack, [up]) => {
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) => ask(stack, `burst${i}.example`)),
        );
        assert.deepEqual(
          answers.map((a) => a.rcode),
          Array.from({ length: 12 }, () => 'NOERROR'),
        );
        assert.equal(up!.connections, 1, 'the pool stayed within its bound');
      },
      { maxConnectionsPerUpstream: 1, maxInFlightPerConnection: 2 },
    );
  });

  it('fills the oldest connection before the next: a connection opened by a burst gets nothing after it', async () => {
    await withStack(
      [{ onQuery: () => ({ delayMs: 60 }) }],
      async (stack, [up]) => {
        const burst = await Promise.all(Array.from({ length: 4 }, (_, i) => ask(stack, `burst${i}.example`)));
        assert.ok(burst.every((a) => a.rcode === 'NOERROR'));
        assert.equal(up!.connections, 2, 'the burst needed a second connection');
        const before = up!.queries.length;
        for (let round = 0; round < 3; round++) {
          // Two at a time: room for both on the first connection (cap 2), so the second stays idle.
          const pair = await Promise.all([ask(stack, `a${round}.example`), ask(stack, `b${round}.example`)]);
          assert.ok(pair.every((a) => a.rcode === 'NOERROR'));
        }
        const after = up!.queries.slice(before);
        assert.equal(after.length, 6);
        const first = Math.min(...up!.queries.slice(0, before).map((q) => q.connectionIndex));
        assert.deepEqual(
          after.map((q) => q.connectionIndex),
          after.map(() => first),
        );
      },
      { maxConnectionsPerUpstream: 2, maxInFlightPerConnection: 2 },
    );
  });

  it('closes a connection opened by a burst after a second idle, and keeps the first', async () => {
    await withStack(
      [{ onQuery: () => ({ delayMs: 60 }) }],
      async (stack, [up]) => {
        const burst = await Promise.all(Array.from({ length: 4 }, (_, i) => ask(stack, `burst${i}.example`)));
        assert.ok(burst.every((a) => a.rcode === 'NOERROR'));
        assert.equal(up!.openConnections, 2, 'the burst needed a second connection');
        // The first connection stays busy enough to be kept; the second gets nothing and goes idle.
        const deadline = Date.now() + 1600;
        while (Date.now() < deadline) {
          assert.equal((await ask(stack, `steady${Date.now()}.example`)).rcode, 'NOERROR');
          await sleep(100);
        }
        assert.equal(up!.openConnections, 1, 'the surplus connection closed once idle for a second');
        assert.equal(up!.connections, 2, 'and the first one carried on: no connection was opened since');
      },
      { maxConnectionsPerUpstream: 2, maxInFlightPerConnection: 2, idleTimeoutMs: 10_000 },
    );
  });
});
