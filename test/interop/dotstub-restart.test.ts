// Reliability against a real unbound (issue 7): unbound killed by its PID and restarted while clients keep
// asking, and its TLS port held by something that accepts and never speaks TLS. Every query gets an answer
// or SERVFAIL within the deadline, and answers resume by themselves, without restarting dotstub.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';
import { daemonKind, hostName, InteropEnv, requirePeer, sleep, type DotstubDaemon } from './harness.js';

const env = new InteropEnv();
after(async () => {
  const problems = await env.close();
  assert.deepEqual(problems, []);
});

/** dotstub's default end-to-end deadline is 5 s; the slack covers a machine shared with other work. */
const REPLY_WITHIN_MS = 5000 + 3000;
const RECOVERY_BUDGET_MS = 20_000;

interface Tally {
  answered: number;
  servfail: number;
  late: number;
  lost: number;
  other: number;
}

/** One UDP query; its outcome goes into the tally. Answers are NOERROR for hostName(i). */
async function ask(port: number, i: number, tally: Tally): Promise<string> {
  const sock = createSocket('udp4');
  const started = performance.now();
  try {
    const reply = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => {
        resolve(undefined);
      }, REPLY_WITHIN_MS + 4000);
      sock.on('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      sock.send(buildQuery(hostName(i % 2000), 'A', { id: i & 0xffff }), port, '127.0.0.1');
    });
    if (reply === undefined) {
      tally.lost++;
      return 'lost';
    }
    if (performance.now() - started > REPLY_WITHIN_MS) tally.late++;
    const rcode = parseAnswer(reply).rcode;
    if (rcode === 'NOERROR') tally.answered++;
    else if (rcode === 'SERVFAIL') tally.servfail++;
    else tally.other++;
    return rcode;
  } finally {
    sock.close();
  }
}

/** `workers` clients asking one query after another until stop() is called. */
function load(d: DotstubDaemon, workers: number): { tally: Tally; stop(): Promise<void> } {
  const tally: Tally = { answered: 0, servfail: 0, late: 0, lost: 0, other: 0 };
  let running = true;
  let seq = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      await ask(d.port, seq++, tally);
      await sleep(20);
    }
  });
  return {
    tally,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function answeredAgain(d: DotstubDaemon, tally: Tally): Promise<number> {
  const started = performance.now();
  for (let i = 0; performance.now() - started < RECOVERY_BUDGET_MS; i++) {
    if ((await ask(d.port, 5000 + i, tally)) === 'NOERROR') return performance.now() - started;
    await sleep(200);
  }
  return Infinity;
}

function assertNothingLost(tally: Tally, d: DotstubDaemon): void {
  assert.equal(tally.lost, 0, `queries without a reply: ${JSON.stringify(tally)}\n${d.process.tail()}`);
  assert.equal(tally.late, 0, `replies after ${REPLY_WITHIN_MS} ms: ${JSON.stringify(tally)}`);
  assert.equal(tally.other, 0, `unexpected rcodes: ${JSON.stringify(tally)}`);
}

void test('unbound killed by its PID under load and restarted: every query answered or SERVFAIL in time, answers resume by themselves', async (t) => {
  if (daemonKind !== 'dotstub' || !requirePeer(t, 'unbound', 'unbound-control', 'openssl')) return;
  const certs = await env.certs(t);
  if (!certs) return;
  const first = await env.unboundWith(t, { certs });
  if (!first) return;
  const d = await env.dotstubFor(t, first);
  if (!d) return;
  const traffic = load(d, 8);
  await sleep(1500);
  assert.ok(traffic.tally.answered > 0, 'answers before the kill');
  process.kill(first.process.pid, 'SIGKILL');
  await first.process.exited;
  await sleep(3000); // clients keep asking while nothing serves TLS
  const servfailWhileDown = traffic.tally.servfail;
  const second = await env.unboundWith(t, { certs, port: first.port });
  if (!second) return;
  const recoveredMs = await answeredAgain(d, traffic.tally);
  await sleep(1000);
  await traffic.stop();
  t.diagnostic(
    `${JSON.stringify(traffic.tally)}; answers again ${Math.round(recoveredMs)} ms after the restart`,
  );
  assert.ok(servfailWhileDown > 0, 'SERVFAIL while unbound was down');
  assert.ok(
    recoveredMs < RECOVERY_BUDGET_MS,
    `no answer within ${RECOVERY_BUDGET_MS} ms of the restart\n${d.process.tail()}`,
  );
  assertNothingLost(traffic.tally, d);
  assert.ok((await second.queriesReceived()) > 0, 'the restarted unbound was asked');
  assert.equal(d.process.exitStatus, undefined, 'dotstub kept running');
});

void test('the TLS port taken by a server that accepts and never speaks TLS: prompt SERVFAIL, then recovery when unbound is back', async (t) => {
  if (daemonKind !== 'dotstub' || !requirePeer(t, 'unbound', 'unbound-control', 'openssl')) return;
  const certs = await env.certs(t);
  if (!certs) return;
  const first = await env.unboundWith(t, { certs });
  if (!first) return;
  const d = await env.dotstubFor(t, first);
  if (!d) return;
  const traffic = load(d, 4);
  await sleep(1000);
  await first.stop();
  // Hold the port: accept, read, never answer (a hung TLS server, or a captive middlebox).
  const held = new Set<Socket>();
  const holder = createServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(first.port, '127.0.0.1', resolve);
  });
  await sleep(4000);
  const servfailWhileHeld = traffic.tally.servfail;
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) =>
    holder.close(() => {
      resolve();
    }),
  );
  const second = await env.unboundWith(t, { certs, port: first.port });
  if (!second) return;
  const recoveredMs = await answeredAgain(d, traffic.tally);
  await traffic.stop();
  t.diagnostic(
    `${JSON.stringify(traffic.tally)}; ${held.size} connections to the holder; answers again after ${Math.round(recoveredMs)} ms`,
  );
  assert.ok(servfailWhileHeld > 0, 'SERVFAIL while the port was held');
  assert.ok(held.size >= 1, 'dotstub tried the held port');
  assert.ok(
    recoveredMs < RECOVERY_BUDGET_MS,
    `no answer within ${RECOVERY_BUDGET_MS} ms\n${d.process.tail()}`,
  );
  assertNothingLost(traffic.tally, d);
});
