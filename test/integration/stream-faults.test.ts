// Test plan B4, B5 (slow drip) and B7: an RST after half a frame, an answer dribbled in too slowly, and the
// server's idle close racing a query being written. Each asserts what the client got, what the upstream
// saw, and that nothing stays in flight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQuery, parseAnswer, sleep, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { frame } from '../helpers/dns-answer.js';
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
    await waitFor(() => stack.daemon.resolver.outstanding === 0, 3000, 'nothing outstanding');
    for (const u of stack.daemon.upstreams) assert.ok(u.connections.every((c) => c.inFlight === 0));
  } finally {
    await stack.close();
    await Promise.all(ups.map((u) => u.close()));
  }
}

const ask = async (stack: Stack, name: string): Promise<string> =>
  parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'), { timeoutMs: 5000 })).rcode;

describe('stream faults on the upstream connection', () => {
  it('B4: an RST after a length prefix and half a body: the fragment is dropped and the query retried', async () => {
    await withStack([{}], async (stack, [up]) => {
      assert.equal(await ask(stack, 'warm.example'), 'NOERROR');
      let cut = false;
      up!.onQuery = (q, ctx) => {
        if (q.name !== 'half.example' || cut) return undefined;
        cut = true;
        const whole = frame(ctx.answer());
        ctx.sendRaw(whole.subarray(0, 2 + (whole.length - 2) / 2));
        return { delayMs: 20, rst: true };
      };
      assert.equal(await ask(stack, 'half.example'), 'NOERROR');
      const copies = up!.queries.filter((q) => q.name === 'half.example');
      assert.deepEqual(
        copies.map((q) => q.connectionIndex),
        [0, 1],
        'sent again on a fresh connection',
      );
      assert.equal(up!.connections, 2);
      assert.equal(
        stack.daemon.upstreams[0]!.counters.unmatchedAnswers,
        0,
        'the fragment was never read as an answer',
      );
    });
  });

  it('B5: an answer dribbled a byte at a time past the deadline: failover, then the stalled connection is closed', async () => {
    await withStack(
      [
        {
          onQuery: (q, ctx) => {
            const bytes = frame(ctx.answer());
            void (async () => {
              for (const b of bytes) {
                if (ctx.connection.closed) return;
                ctx.sendRaw(Buffer.from([b]));
                await sleep(100);
              }
            })();
            return { drop: true };
          },
        },
        {},
      ],
      async (stack, [drip, good]) => {
        const started = Date.now();
        assert.equal(await ask(stack, 'drip.example'), 'NOERROR');
        assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
        assert.equal(drip!.queries.length, 1);
        assert.equal(good!.queries.length, 1);
        await waitFor(() => drip!.openConnections === 0, 5000, 'the dripping connection to be closed');
      },
      { timeoutMs: 2000 },
    );
  });

  it('B5: a slow drip that finishes within the deadline is still an answer', async () => {
    await withStack([{}], async (stack, [up]) => {
      up!.onQuery = (_q, ctx) => {
        const bytes = frame(ctx.answer());
        void (async () => {
          for (let i = 0; i < bytes.length; i += 8) {
            ctx.sendRaw(bytes.subarray(i, i + 8));
            await sleep(10);
          }
        })();
        return { drop: true };
      };
      assert.equal(await ask(stack, 'slow.example'), 'NOERROR');
      assert.equal(up!.connections, 1);
    });
  });

  it("B7: the server's idle close races a query being written: retried on a new connection, answered once", async () => {
    await withStack([{}], async (stack, [up]) => {
      assert.equal(await ask(stack, 'warm.example'), 'NOERROR');
      // The server closes (FIN) the moment the next query arrives, without answering it.
      let closed = false;
      up!.onQuery = (q) =>
        q.name === 'race.example' && !closed ? ((closed = true), { close: true }) : undefined;
      const answers = await Promise.all([ask(stack, 'race.example'), ask(stack, 'race2.example')]);
      assert.deepEqual(answers, ['NOERROR', 'NOERROR']);
      const race = up!.queries.filter((q) => q.name === 'race.example' && !q.ignored);
      assert.deepEqual(
        race.map((q) => q.connectionIndex),
        [0, 1],
      );
      assert.equal(up!.connections, 2);
      assert.equal(stack.daemon.resolver.counters.servfail, 0);
    });
  });
});
