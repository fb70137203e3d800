import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQuery, parseAnswer, sleep, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';

/** Handles and timers the process holds, by kind (test plan B5: nothing leaks after failures). */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

async function settled(baseline: Map<string, number>, timeoutMs = 4000): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let now = resources();
  while (Date.now() < deadline) {
    const leaked = [...now].filter(([kind, n]) => kind !== 'Timeout' && n > (baseline.get(kind) ?? 0));
    if (leaked.length === 0) return now;
    await sleep(50);
    now = resources();
  }
  return now;
}

describe('resources after failures (test plan B5)', () => {
  it('leaves no sockets behind after stalls, handshake hangs, resets and failover', async () => {
    await sleep(50);
    const baseline = resources();
    const stalled = await startFakeUpstream({ onQuery: () => ({ drop: true }) });
    const hung = await startFakeUpstream({ stallHandshake: true });
    const reset = await startFakeUpstream({ rstOnConnect: true });
    const good = await startFakeUpstream({});
    const stack = await startStack({
      upstreams: [spec(stalled.port), spec(hung.port), spec(reset.port), spec(good.port)],
      connectTimeoutMs: 300,
      timeoutMs: 3000,
    });
    for (let i = 0; i < 10; i++) {
      const answer = parseAnswer(
        await udpQuery(stack.port, buildQuery(`leak${i}.example`, 'A'), { timeoutMs: 4000 }),
      );
      assert.equal(answer.rcode, 'NOERROR');
    }
    const [viaTcp] = await tcpQuery(stack.port, [buildQuery('leak-tcp.example', 'A')], { timeoutMs: 4000 });
    assert.equal(parseAnswer(viaTcp!).rcode, 'NOERROR');
    assert.ok(good.queries.length >= 1);
    await stack.close();
    await Promise.all([stalled.close(), hung.close(), reset.close(), good.close()]);
    const after = await settled(baseline);
    for (const [kind, n] of after) {
      if (kind === 'Timeout') continue; // unref'd timers of closed sockets may still be counted for a moment
      assert.ok(n <= (baseline.get(kind) ?? 0), `${kind}: ${n} after, ${baseline.get(kind) ?? 0} before`);
    }
  });
});
