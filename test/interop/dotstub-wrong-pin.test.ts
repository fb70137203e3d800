// Strict profile (RFC 8310) with a pin that matches no key unbound presents: dotstub must answer SERVFAIL
// promptly and must never send the client's query to the unauthenticated server.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { daemonKind, explain, hostA, hostName, InteropEnv, kdig, requirePeer, wrongPin } from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

const PROMPT_MS = 7000;

const variants = [
  { label: 'pin + auth name + CA', options: { pin: wrongPin() } },
  { label: 'pin only', options: { pin: wrongPin(), authName: false, caFile: false } },
] as const;

for (const { label, options } of variants) {
  void test(`wrong pin (${label}): SERVFAIL within ${PROMPT_MS / 1000} s over UDP and TCP, and unbound receives nothing`, async (t) => {
    if (!requirePeer(t, 'kdig')) return;
    const ub = await env.unbound(t);
    if (!ub) return;
    const before = await ub.queriesReceived();
    const d = await env.dotstub(t, options);
    if (!d) return;
    for (const transport of ['udp', 'tcp'] as const) {
      const r = await kdig(d.port, hostName(1), 'A', { transport, timeoutS: 10 });
      assert.equal(r.status, 'SERVFAIL', explain(r, d));
      assert.deepEqual(r.answers, [], explain(r, d));
      t.diagnostic(`${transport}: SERVFAIL after ${Math.round(r.tool.elapsedMs)} ms`);
      assert.ok(
        r.tool.elapsedMs < PROMPT_MS,
        `answered after ${Math.round(r.tool.elapsedMs)} ms\n${explain(r, d)}`,
      );
    }
    assert.equal(await ub.queriesReceived(), before, `unbound received a query\n${d.process.tail()}`);
    if (daemonKind === 'dotstub')
      assert.match(d.process.stderr(), /pin/i, 'the log does not say the pin failed');
  });
}

void test('the counter is live: with the right pin the same unbound counts the forwarded query', async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const before = await ub.queriesReceived();
  assert.equal(before, 0, 'the wrong-pin daemons leaked queries to unbound');
  const d = await env.dotstub(t);
  if (!d) return;
  const r = await kdig(d.port, hostName(1), 'A', { transport: 'udp' });
  assert.equal(r.status, 'NOERROR', explain(r, d));
  assert.deepEqual(
    r.answers.map((a) => a.data),
    [hostA(1)],
    explain(r, d),
  );
  assert.ok((await ub.queriesReceived()) > before);
});
