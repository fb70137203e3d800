// Test plan B8: every upstream down, then back. On a manual clock, so two minutes of outage take no real
// time and the count of connect attempts and log lines over that stretch is exact, not a timing guess.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDaemon } from '../../src/server/daemon.js';
import { formatUpstream } from '../../src/upstream/upstream.js';
import { createLogger } from '../../src/util/logger.js';
import { buildQuery, parseAnswer, sleep, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { spec, stackDefaults } from '../helpers/stack.js';
import { caFile } from '../helpers/test-certs.js';

const BACKOFF = { baseMs: 1000, capMs: 16_000, jitter: 0 };

describe('all upstreams down, then back (test plan B8)', () => {
  it('answers SERVFAIL at once, logs about once per upstream per backoff step, stays idle, and resumes by itself', async () => {
    let down = true;
    const ups = await Promise.all(
      [0, 1].map(() => startFakeUpstream({ connectionFault: () => (down ? 'rst' : undefined) })),
    );
    const clock = new ManualClock();
    const log: string[] = [];
    const daemon = await startDaemon({
      listen: [{ host: '127.0.0.1', port: 0 }],
      upstreams: ups.map((u) => spec(u.port)),
      caFile: caFile(),
      selection: 'round-robin',
      timeoutMs: 3000,
      idleTimeoutMs: 10_000,
      connectTimeoutMs: 1000,
      paddingBlockSize: 128,
      maxOutstanding: 100,
      maxConnectionsPerUpstream: 2,
      maxInFlightPerConnection: 100,
      backoff: BACKOFF,
      clock,
      // The rate limiter reads the same manual clock as the backoff.
      logger: createLogger({ level: 'debug', write: (l) => log.push(l), now: () => clock.now() }),
    });
    const port = daemon.addresses[0]!.port;
    const ask = async (name: string): Promise<string> =>
      parseAnswer(await udpQuery(port, buildQuery(name, 'A'), { timeoutMs: 2000 })).rcode;
    try {
      // Two minutes of outage with a client asking four times a second.
      const outageMs = 120_000;
      for (let t = 0; t < outageMs; t += 250) {
        assert.equal(await ask(`down${t}.example`), 'SERVFAIL');
        clock.advance(250);
      }
      const attempts = ups.map((u) => u.connections);
      const total = attempts[0]! + attempts[1]!;
      // The first query tries each upstream; after that one probe a second at most while everything is down
      // (and only because clients ask), not one per query.
      assert.ok(
        total <= outageMs / 1000 + ups.length + 1,
        `${total} connect attempts in ${outageMs / 1000} s`,
      );
      assert.ok(total >= 10, `probes kept going during the outage (${total})`);
      assert.equal(
        ups[0]!.queries.length + ups[1]!.queries.length,
        0,
        'no query bytes reached a dead upstream',
      );
      for (const u of ups) {
        const id = formatUpstream(spec(u.port));
        const lines = log.filter((l) => l.includes('backing off') && l.includes(id));
        // Backoff 1, 2, 4, 8, then 16 s: 4 steps to the cap, then one per 16 s over 2 minutes.
        assert.ok(
          lines.length >= 4 && lines.length <= 4 + outageMs / 16_000 + 2,
          `${lines.length} lines for ${id}`,
        );
      }
      // The last query's deadline timer fires once more, finds nothing and stays off (util/deadline.ts).
      clock.advance(3000);
      assert.equal(clock.pending, 0, 'no manual-clock timer left armed once the last deadline passed');

      // Nobody asks: nothing is tried, whatever the time.
      const idleStart = ups.map((u) => u.connections);
      clock.advance(300_000);
      await sleep(200);
      assert.deepEqual(
        ups.map((u) => u.connections),
        idleStart,
        'no connect attempts without queries',
      );

      // Back: the next query after the probe interval is answered, without a restart.
      down = false;
      clock.advance(1000);
      assert.equal(await ask('back.example'), 'NOERROR');
      clock.advance(20_000);
      for (let i = 0; i < 4; i++) assert.equal(await ask(`back${i}.example`), 'NOERROR');
      assert.deepEqual(
        daemon.resolver.upstreams.map((e) => e.health.state.kind),
        ['healthy', 'healthy'],
      );
      assert.equal(daemon.resolver.outstanding, 0);
    } finally {
      daemon.destroy();
      await daemon.close();
      await Promise.all(ups.map((u) => u.close()));
    }
  });
  it('answers SERVFAIL within PROBE_WAIT_MS while every handshake hangs, and resumes when they complete', async () => {
    // A firewall or captive portal that drops port 853: connects hang until their timeout. Each probe is a
    // connect in the background (src/resolver/background-probe.ts); queries wait on it 250 ms at most.
    let down = true;
    const up = await startFakeUpstream({ connectionFault: () => (down ? 'stall' : undefined) });
    const clock = new ManualClock();
    const daemon = await startDaemon({
      ...stackDefaults(), // timeout 3 s, connect timeout 1 s
      upstreams: [spec(up.port)],
      backoff: BACKOFF,
      clock,
      logger: createLogger({ level: 'error', write: () => {} }),
    });
    const port = daemon.addresses[0]!.port;
    /** Asks, lets the daemon take the query, moves the manual clock by `advanceMs`, and returns the RCODE. */
    const askAfter = async (name: string, advanceMs: number): Promise<string> => {
      const answer = udpQuery(port, buildQuery(name, 'A'), { timeoutMs: 3000 });
      await sleep(100);
      clock.advance(advanceMs);
      return parseAnswer(await answer).rcode;
    };
    try {
      // The first query finds a healthy upstream and waits on its connect: the connect timeout fails it.
      assert.equal(await askAfter('first.example', 1000), 'SERVFAIL');
      const health = daemon.resolver.upstreams[0]!.health;
      const state = (): string => health.state.kind;
      assert.equal(state(), 'backingOff');
      // Backoff over: the next query is the probe's, and hears SERVFAIL 250 ms on while the connect hangs.
      clock.advance(BACKOFF.baseMs);
      assert.equal(await askAfter('probe.example', 250), 'SERVFAIL');
      assert.equal(state(), 'probing', 'the connect goes on in the background');
      assert.equal(await askAfter('rider.example', 250), 'SERVFAIL');
      // The connect times out: the next backoff step.
      clock.advance(1000);
      await sleep(50);
      assert.equal(state(), 'backingOff');
      assert.equal(health.backoffs, 2);
      assert.equal(up.queries.length, 0, 'no query bytes reached the upstream');
      // Back: after the backoff the probe connects at once and the query rides on it to an answer.
      down = false;
      clock.advance(2 * BACKOFF.baseMs);
      assert.equal(await askAfter('back.example', 0), 'NOERROR');
      assert.equal(state(), 'healthy');
    } finally {
      // Past every deadline and connect timeout, so that nothing still waits on the manual clock.
      clock.advance(60_000);
      await sleep(50);
      daemon.destroy();
      await daemon.close();
      await up.close();
    }
  });
});
