// Strict with only an SPKI pin: no authentication name and no CA file. The test CA is in no trust store, so
// the pin alone must authenticate unbound (RFC 7858 §4.2, RFC 8310 §8.1).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { dig, explain, hostA, hostAAAA, hostName, InteropEnv, kdig, requirePeer } from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

const pinOnly = { authName: false, caFile: false } as const;

void test('pin-only upstream: kdig over UDP and dig over TCP get their answers, forwarded to unbound', async (t) => {
  if (!requirePeer(t, 'kdig', 'dig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const d = await env.dotstub(t, pinOnly);
  if (!d) return;
  assert.ok(!d.args.some((a) => a.includes('~') || a === '--ca-file'), d.args.join(' '));
  const before = await ub.queriesReceived();
  const a = await kdig(d.port, hostName(21), 'A', { transport: 'udp' });
  assert.equal(a.status, 'NOERROR', explain(a, d));
  assert.deepEqual(
    a.answers.map((x) => x.data),
    [hostA(21)],
    explain(a, d),
  );
  const aaaa = await dig(d.port, hostName(22), 'AAAA', { transport: 'tcp' });
  assert.equal(aaaa.status, 'NOERROR', explain(aaaa, d));
  assert.deepEqual(
    aaaa.answers.map((x) => x.data),
    [hostAAAA(22)],
    explain(aaaa, d),
  );
  assert.ok((await ub.queriesReceived()) >= before + 2);
});
