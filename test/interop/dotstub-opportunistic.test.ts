// Opportunistic profile (RFC 8310 sec. 5, `-n`) against a real unbound whose DoT port is closed and whose clear
// DNS port (getdns_query's `IP@CLEARPORT#TLSPORT`) is open: dotstub answers in clear and says so; the Strict
// profile with the same upstream never falls back to clear text; and once unbound serves TLS again, the same
// dotstub (not restarted) goes back to TLS on its own, which unbound's num.query.tls counter shows.
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import {
  absentName,
  acceptsTcp,
  daemonKind,
  explain,
  hostA,
  hostAAAA,
  hostName,
  hostTXT,
  InteropEnv,
  kdig,
  requirePeer,
  sleep,
  type DnsResult,
  type DotstubDaemon,
  type DotstubOptions,
  type Transport,
  type UnboundServer,
} from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

const PEERS = ['kdig', 'unbound', 'unbound-control', 'openssl'] as const;
const CLEAR_WARNING = /^level=warn msg="[^"]*answering in CLEAR TEXT, NOT PRIVATE/m;
const TLS_AGAIN = /^level=warn msg="[^"]*TLS works again/m;
const FIRST_QUERY_AGAIN = /^level=debug msg="sent the first query again after a session ticket/m;
const PROMPT_MS = 7000;
/** Spacing of the queries that trigger the re-upgrade probe (first due about 1 s ± 20 % after the downgrade). */
const PROBE_SPACING_MS = 1500;
/** The longest the re-upgrade may take, counted from when the restarted unbound serves TLS. */
const UPGRADE_BUDGET_MS = 10_000;

/** Skips under INTEROP_DAEMON=stubby: `-n`, `@CLEARPORT` and the log lines asserted on are dotstub's. */
function dotstubOnly(t: TestContext): boolean {
  if (daemonKind === 'dotstub') return true;
  t.skip('the Opportunistic options and log lines are dotstub-specific');
  return false;
}

let clearOnly: Promise<UnboundServer | undefined> | undefined;
/** The unbound of tests 1 and 2: clear DNS on a free port, and no TLS interface at all. */
async function clearOnlyUnbound(t: TestContext): Promise<UnboundServer | undefined> {
  clearOnly ??= env.unboundWith(t, { tls: false, clearPort: 'free' });
  return clearOnly;
}

/** The dotstub flags for one profile, with the upstream `127.0.0.1@CLEARPORT#TLSPORT~dot.test`. */
function profileOptions(ub: UnboundServer, flags: readonly string[]): DotstubOptions {
  assert.ok(ub.clearPort !== undefined);
  return { clearPort: ub.clearPort, extraArgs: flags };
}

/** Asserts a NOERROR answer carrying exactly `expected` (rdata as kdig prints it). */
function assertAnswer(r: DnsResult, expected: readonly string[], d: DotstubDaemon): void {
  assert.equal(r.status, 'NOERROR', explain(r, d));
  assert.deepEqual(
    r.answers.map((a) => a.data),
    expected,
    explain(r, d),
  );
}

/** Polls the daemon's log for `pattern` for up to `ms`; also the spacing between probe-triggering queries. */
async function logShowsWithin(d: DotstubDaemon, pattern: RegExp, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (pattern.test(d.process.stderr())) return true;
    if (performance.now() >= deadline) return false;
    await sleep(100);
  }
}

const occurrences = (text: string, pattern: RegExp): number =>
  text.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;

void test('Opportunistic (-n), DoT port closed: kdig over UDP and TCP gets the zone from unbound over clear DNS, and the log says NOT PRIVATE', async (t) => {
  if (!dotstubOnly(t) || !requirePeer(t, ...PEERS)) return;
  const ub = await clearOnlyUnbound(t);
  if (!ub) return;
  assert.equal(ub.tls, false);
  assert.equal(await acceptsTcp(ub.port), false, `something listens on the "closed" TLS port ${ub.port}`);
  const before = await ub.queriesReceived();
  assert.equal(before, 0, 'unbound counted queries before any was sent');
  const d = await env.dotstubFor(t, ub, profileOptions(ub, ['-n']));
  if (!d) return;
  t.diagnostic(`dotstub ${d.args.join(' ')}`);

  const queries: { transport: Transport; name: string; type: string; expected: string[] }[] = [
    { transport: 'udp', name: hostName(1), type: 'A', expected: [hostA(1)] },
    { transport: 'udp', name: hostName(2), type: 'AAAA', expected: [hostAAAA(2)] },
    { transport: 'tcp', name: hostName(3), type: 'A', expected: [hostA(3)] },
    { transport: 'tcp', name: hostName(4), type: 'TXT', expected: [`"${hostTXT(4)}"`] },
  ];
  for (const q of queries) {
    const r = await kdig(d.port, q.name, q.type, { transport: q.transport, timeoutS: 10 });
    assertAnswer(r, q.expected, d);
    t.diagnostic(`${q.transport} ${q.name} ${q.type}: NOERROR after ${Math.round(r.tool.elapsedMs)} ms`);
  }
  const absent = await kdig(d.port, absentName(1), 'A', { transport: 'udp', timeoutS: 10 });
  assert.equal(absent.status, 'NXDOMAIN', explain(absent, d));

  assert.match(d.process.stderr(), CLEAR_WARNING, `no NOT PRIVATE warning\n${d.process.tail()}`);
  assert.doesNotMatch(d.process.stderr(), TLS_AGAIN, 'TLS cannot work again: nothing listens on its port');
  const received = (await ub.queriesReceived()) - before;
  assert.equal(
    received,
    queries.length + 1,
    `unbound received ${received} queries over clear DNS, expected ${queries.length + 1}\n${d.process.tail()}`,
  );
});

for (const { label, flags } of [
  { label: '-m', flags: ['-m'] },
  { label: 'no profile flag', flags: [] },
] as const) {
  void test(`Strict (${label}), DoT port closed: SERVFAIL within ${PROMPT_MS / 1000} s over UDP and TCP, and the clear port receives nothing`, async (t) => {
    if (!dotstubOnly(t) || !requirePeer(t, ...PEERS)) return;
    const ub = await clearOnlyUnbound(t);
    if (!ub) return;
    const before = await ub.queriesReceived();
    const d = await env.dotstubFor(t, ub, profileOptions(ub, flags));
    if (!d) return;
    t.diagnostic(`dotstub ${d.args.join(' ')}`);
    for (const transport of ['udp', 'tcp'] as const) {
      const r = await kdig(d.port, hostName(5), 'A', { transport, timeoutS: 10 });
      assert.equal(r.status, 'SERVFAIL', explain(r, d));
      assert.deepEqual(r.answers, [], explain(r, d));
      t.diagnostic(`${transport}: SERVFAIL after ${Math.round(r.tool.elapsedMs)} ms`);
      assert.ok(
        r.tool.elapsedMs < PROMPT_MS,
        `answered after ${Math.round(r.tool.elapsedMs)} ms\n${explain(r, d)}`,
      );
    }
    assert.equal(
      await ub.queriesReceived(),
      before,
      `Strict sent a query in clear text to unbound\n${d.process.tail()}`,
    );
    assert.doesNotMatch(d.process.stderr(), CLEAR_WARNING, 'Strict logged a clear-text fallback');
  });
}

void test('re-upgrade: the same Opportunistic dotstub goes back to TLS once unbound serves it, and unbound then counts TLS queries', async (t) => {
  if (!dotstubOnly(t) || !requirePeer(t, ...PEERS)) return;
  const certs = await env.certs(t);
  if (!certs) return;
  const clear = await env.unboundWith(t, { tls: false, clearPort: 'free', certs });
  if (!clear) return;
  const d = await env.dotstubFor(t, clear, profileOptions(clear, ['-n']));
  if (!d) return;
  t.diagnostic(`dotstub ${d.args.join(' ')}`);

  // In clear: TLS is refused, the query goes to the clear port.
  const first = await kdig(d.port, hostName(10), 'A', { transport: 'udp', timeoutS: 10 });
  assertAnswer(first, [hostA(10)], d);
  assert.match(d.process.stderr(), CLEAR_WARNING, `no NOT PRIVATE warning\n${d.process.tail()}`);
  assert.equal(await clear.queriesReceived(), 1, 'the clear-only unbound did not get the query');

  // The same ports and certificate, now with a DoT interface as well; dotstub keeps running.
  const exit = await clear.stop();
  t.diagnostic(`clear-only unbound stopped (code ${String(exit.code)}, signal ${String(exit.signal)})`);
  assert.ok(clear.clearPort !== undefined);
  const ub = await env.unboundWith(t, { tls: true, port: clear.port, clearPort: clear.clearPort, certs });
  if (!ub) return;
  assert.equal(ub.pin, clear.pin);
  assert.equal(await ub.queriesReceived(), 0);
  assert.equal(await ub.tlsQueriesReceived(), 0);

  // Queries about 1.5 s apart until a probe (triggered by one of them, which is still answered in clear)
  // finds TLS working.
  const started = performance.now();
  let sent = 0;
  let upgraded = false;
  while (!upgraded && performance.now() - started < UPGRADE_BUDGET_MS) {
    const i = 20 + sent;
    const r = await kdig(d.port, hostName(i), 'A', { transport: 'udp', timeoutS: 5 });
    sent++;
    assertAnswer(r, [hostA(i)], d);
    upgraded = await logShowsWithin(d, TLS_AGAIN, PROBE_SPACING_MS);
  }
  const upgradeMs = Math.round(performance.now() - started);
  assert.ok(
    upgraded,
    `no "TLS works again" within ${UPGRADE_BUDGET_MS} ms (${sent} queries)\n${d.process.tail()}`,
  );
  t.diagnostic(`TLS works again after ${sent} queries, ${upgradeMs} ms after unbound served TLS`);
  assert.equal(d.process.exitStatus, undefined, 'dotstub exited');

  // Everything up to the upgrade went in clear; the probe itself is a bare handshake.
  const tlsBefore = await ub.tlsQueriesReceived();
  const totalBefore = await ub.queriesReceived();
  assert.equal(tlsBefore, 0, 'unbound got queries over TLS before "TLS works again"');
  assert.equal(totalBefore, sent, 'the probe-triggering queries did not all arrive in clear');

  // Private again: over UDP and TCP from the client, over TLS to unbound.
  const privateQueries: { transport: Transport; i: number }[] = [
    { transport: 'udp', i: 40 },
    { transport: 'tcp', i: 41 },
  ];
  for (const { transport, i } of privateQueries) {
    const r = await kdig(d.port, hostName(i), 'A', { transport, timeoutS: 10 });
    assertAnswer(r, [hostA(i)], d);
  }
  const tlsGot = (await ub.tlsQueriesReceived()) - tlsBefore;
  const totalGot = (await ub.queriesReceived()) - totalBefore;
  // When unbound's session ticket beats its first answer on the new connection, dotstub sends that first
  // query once more to carry its ACK (first-answer-nudge.ts), and unbound counts the copy: a race of timing.
  const copies = occurrences(d.process.stderr(), FIRST_QUERY_AGAIN);
  assert.equal(
    tlsGot,
    privateQueries.length + copies,
    `unbound got ${tlsGot} queries over TLS after the upgrade (${copies} first-query copies)\n${d.process.tail()}`,
  );
  assert.equal(totalGot, tlsGot, `unbound got ${totalGot - tlsGot} queries in clear after the upgrade`);
  const log = d.process.stderr();
  assert.equal(occurrences(log, CLEAR_WARNING), 1, 'more than one downgrade');
  assert.equal(occurrences(log, TLS_AGAIN), 1, 'more than one upgrade');
});
