// Sanity of the harness itself, without dotstub: the unbound it starts serves DoT with the certificate and pin
// it reports, answers the local zone, refuses the rest, and its query counter counts what it receives.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { explain, hostA, hostName, InteropEnv, kdig, requirePeer, wrongPin, AUTH_NAME } from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

function tls(pin: string): string[] {
  return ['+tls', `+tls-pin=${pin}`];
}

void test('kdig over TLS with the right pin gets host1 A from unbound, which counts one query', async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const before = await ub.queriesReceived();
  const r = await kdig(ub.port, hostName(1), 'A', { transport: 'tcp', extra: tls(ub.pin) });
  assert.equal(r.status, 'NOERROR', explain(r));
  assert.deepEqual(
    r.answers.map((a) => [a.name, a.type, a.data]),
    [[`${hostName(1)}.`, 'A', hostA(1)]],
    explain(r),
  );
  assert.equal(await ub.queriesReceived(), before + 1);
});

void test('kdig over TLS with a wrong pin fails the handshake and unbound receives no query', async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const before = await ub.queriesReceived();
  const r = await kdig(ub.port, hostName(2), 'A', { transport: 'tcp', extra: tls(wrongPin()) });
  assert.equal(r.status, undefined, explain(r));
  assert.notEqual(r.tool.code, 0, explain(r));
  assert.equal(await ub.queriesReceived(), before);
});

void test("unbound's certificate chain validates for dot.test against the test CA", async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const extra = ['+tls', `+tls-ca=${ub.caFile}`, `+tls-hostname=${AUTH_NAME}`];
  const r = await kdig(ub.port, hostName(4), 'A', { transport: 'tcp', extra });
  assert.equal(r.status, 'NOERROR', explain(r));
  const wrongName = await kdig(ub.port, hostName(4), 'A', {
    transport: 'tcp',
    extra: ['+tls', `+tls-ca=${ub.caFile}`, '+tls-hostname=other.test'],
  });
  assert.equal(wrongName.status, undefined, explain(wrongName));
});

void test('unbound refuses names outside interop.test, so nothing is resolved from the internet', async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const r = await kdig(ub.port, 'example.com', 'A', { transport: 'tcp', extra: tls(ub.pin) });
  assert.equal(r.status, 'REFUSED', explain(r));
});

void test('unbound pads its TLS answers to 468 bytes when the query is padded (RFC 7830/8467)', async (t) => {
  if (!requirePeer(t, 'kdig')) return;
  const ub = await env.unbound(t);
  if (!ub) return;
  const r = await kdig(ub.port, hostName(3), 'A', { transport: 'tcp', extra: [...tls(ub.pin), '+padding'] });
  assert.equal(r.status, 'NOERROR', explain(r));
  assert.match(r.tool.stdout, /PADDING: \d+ B/, explain(r));
  assert.match(r.tool.stdout, /Received 468 B/, explain(r));
});
