// `dotstub status` end to end: real traffic and faults through the in-process daemon, the snapshot read
// through the real control socket, and the CLI function's text, JSON and Prometheus output.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { callDaemon } from '../../src/cli/control-client.js';
import { statusCommand, type StatusIo } from '../../src/cli/status-command.js';
import type { StatusSnapshot, UpstreamStatus } from '../../src/control/status-types.js';
import { buildQuery, parseAnswer, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack, type StackOptions } from '../helpers/stack.js';
import { getTestPki } from '../helpers/test-certs.js';

const pki = getTestPki();
const controlPath = (): string => join(mkdtempSync(join(tmpdir(), 'dotstub-status-')), 'control.sock');

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(args: readonly string[], signal?: AbortSignal): Promise<Captured> {
  let out = '';
  let err = '';
  const io: StatusIo = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    tty: false,
    signal,
  };
  const code = await statusCommand(args, io);
  return { code, out, err };
}

async function withStatusStack(
  servers: FakeUpstreamOptions[],
  auth: (up: FakeUpstream, index: number) => { pins?: string[]; authName?: string },
  run: (stack: Stack, path: string, ups: FakeUpstream[]) => Promise<void>,
  extra: Partial<StackOptions> = {},
): Promise<void> {
  const ups = await Promise.all(servers.map((s) => startFakeUpstream(s)));
  const path = controlPath();
  const stack = await startStack({
    upstreams: ups.map((u, i) => spec(u.port, auth(u, i))),
    control: { path, required: true },
    ...extra,
  });
  try {
    await run(stack, path, ups);
  } finally {
    await stack.close();
    await Promise.all(ups.map((u) => u.close()));
  }
}

const ask = async (stack: Stack, name: string): Promise<string | undefined> =>
  parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'), { timeoutMs: 4000 })).rcode;

const status = async (path: string): Promise<StatusSnapshot> =>
  (await callDaemon('status', undefined, { path })) as StatusSnapshot;

const upstream = (s: StatusSnapshot, i: number): UpstreamStatus => s.upstreams[i]!;

describe('dotstub status', () => {
  it('shows a healthy upstream: pin on the CA and the name, TLS 1.3, keepalive, padding, RTT, counters', async () => {
    await withStatusStack(
      [{ keepaliveTimeout: 300, padAnswers: true }],
      () => ({ pins: [pki.ca.pin], authName: 'dot.test' }),
      async (stack, path, [up]) => {
        for (const name of ['a.example', 'b.example', 'c.example'])
          assert.equal(await ask(stack, name), 'NOERROR');
        await tcpQuery(stack.port, [buildQuery('d.example', 'A')], { timeoutMs: 4000 });
        const s = await status(path);
        assert.equal(s.version, 1);
        const u = upstream(s, 0);
        assert.equal(u.id, `127.0.0.1#${up!.port}~dot.test`);
        assert.equal(u.address, `127.0.0.1#${up!.port}`);
        assert.equal(u.state, 'connected');
        assert.equal(u.profile, 'strict');
        assert.deepEqual(
          { ...u.verified, cipher: undefined },
          {
            authenticated: true,
            method: 'pin+name',
            failure: null,
            resumed: false,
            pinDepth: 1,
            pinSubject: 'CN=dotstub test CA, O=dotstub tests',
            tlsVersion: 'TLSv1.3',
            cipher: undefined,
          },
        );
        assert.match(u.auth!.cipher, /^TLS_/);
        assert.equal(u.keepaliveMs, 30_000);
        assert.equal(u.padded, true);
        assert.equal(u.openConnections, 1);
        assert.equal(u.inFlight, 0);
        assert.equal(u.rtt!.count, 4);
        assert.ok(u.rtt!.p50Ms <= u.rtt!.p99Ms && u.rtt!.minMs <= u.rtt!.avgMs);
        assert.ok(u.lastAnswerAgoMs !== null);
        assert.equal(u.backoff, null);
        assert.equal(u.lastError, null);
        const c = u.counters;
        assert.deepEqual(
          [c.queries, c.answers, c.paddedAnswers, c.connectionsOpened, c.connectionsReused, c.timeouts],
          [4, 4, 4, 1, 3, 0],
        );
        assert.ok(Object.values(u.handshakeFailures).every((n) => n === 0));
        assert.deepEqual(s.global.queries, { udp: 3, tcp: 1, tls: 0 });
        assert.deepEqual(s.global.answersByTransport, { tls: 4, clear: 0 });
        assert.equal(s.global.rcodes.NOERROR, 4);
        assert.equal(s.global.outstanding, 0);
        assert.ok(s.global.outstandingPeak >= 1);
        assert.equal(s.global.udpReadPauses, 0, 'a handful of queries never fills the queue');
        assert.ok(s.global.memory.rssBytes > 0);
        assert.equal(up!.handshakes, 1);

        const text = await cli(['--control', path]);
        assert.equal(text.code, 0, text.err);
        assert.match(
          text.out,
          new RegExp(
            `^in use: {2}127\\.0\\.0\\.1#${up!.port}~dot\\.test \\(pin matched on depth 1 \\(CN=dotstub test CA, O=dotstub tests\\), name dot\\.test verified; answered `,
            'm',
          ),
        );
        assert.match(text.out, /^ {2}server {7}keepalive 30 s; answers padded \(4 of 4\)$/m);
        assert.doesNotMatch(text.out, /no valid upstream/i);

        const prom = await cli(['--prometheus', '--control', path]);
        const lines = prom.out.split('\n');
        for (const line of [
          `dotstub_upstream_queries_total{upstream="127.0.0.1#${up!.port}"} 4`,
          `dotstub_upstream_connections_reused_total{upstream="127.0.0.1#${up!.port}"} 3`,
          `dotstub_upstream_state{upstream="127.0.0.1#${up!.port}",state="connected"} 1`,
          `dotstub_upstream_keepalive_seconds{upstream="127.0.0.1#${up!.port}"} 30`,
          'dotstub_client_queries_total{transport="udp"} 3',
          'dotstub_client_queries_total{transport="tcp"} 1',
          'dotstub_responses_total{rcode="NOERROR"} 4',
          '# TYPE dotstub_upstream_queries_total counter',
        ])
          assert.ok(lines.includes(line), `missing ${line} in\n${prom.out}`);

        const json = await cli(['--json', '--control', path]);
        const parsed = JSON.parse(json.out) as StatusSnapshot;
        assert.equal(parsed.upstreams[0]!.counters.queries, 4);
      },
    );
  });

  it('says which upstream is in use and why the other is not after a pin mismatch', async () => {
    await withStatusStack(
      [{}, {}],
      (_up, i) => ({ pins: [i === 0 ? pki.otherCa.pin : pki.ca.pin], authName: 'dot.test' }),
      async (stack, path, [bad, good]) => {
        assert.equal(await ask(stack, 'pin.example'), 'NOERROR');
        const s = await status(path);
        const u = upstream(s, 0);
        assert.equal(u.state, 'backing-off');
        assert.equal(u.handshakeFailures['pin-mismatch'], 1);
        assert.equal(u.lastError!.cause, 'pin-mismatch');
        assert.equal(u.backoff!.count, 1);
        assert.ok(u.backoff!.inMs > 0 && u.backoff!.inMs <= 60_000);
        assert.equal(bad!.queries.length, 0, 'nothing was sent to the upstream that failed its pin');
        assert.equal(upstream(s, 1).state, 'connected');

        const text = await cli(['--control', path, '--utc']);
        assert.match(text.out, new RegExp(`^in use: {2}127\\.0\\.0\\.1#${good!.port}~dot\\.test `, 'm'));
        const until = new Date(u.backoff!.until).toISOString().slice(11, 19);
        assert.match(
          text.out,
          new RegExp(
            `^other: {3}127\\.0\\.0\\.1#${bad!.port}~dot\\.test: backing off until ${until} \\(in \\d.*\\) after pin-mismatch: failed authentication \\(pin-mismatch\\)`,
            'm',
          ),
        );
        assert.match(text.out, /^ {2}handshakes {3}failed: pin-mismatch 1$/m);
        const prom = await cli(['--prometheus', '--control', path]);
        const lines = prom.out.split('\n');
        assert.ok(
          lines.includes(
            `dotstub_upstream_handshake_failures_total{upstream="127.0.0.1#${bad!.port}",cause="pin-mismatch"} 1`,
          ),
        );
        assert.ok(
          lines.includes(`dotstub_upstream_state{upstream="127.0.0.1#${bad!.port}",state="backing-off"} 1`),
        );
      },
      { backoff: { baseMs: 60_000, capMs: 60_000, jitter: 0 } },
    );
  });

  it('counts a stalled query as a timeout and its connection as died while reading', async () => {
    await withStatusStack(
      [{ onQuery: (q) => (q.name === 'stall.example' ? { drop: true } : undefined) }],
      () => ({ authName: 'dot.test' }),
      async (stack, path) => {
        assert.equal(await ask(stack, 'warm.example'), 'NOERROR');
        assert.equal(await ask(stack, 'stall.example'), 'SERVFAIL');
        const s = await status(path);
        const u = upstream(s, 0);
        assert.equal(u.counters.timeouts, 1);
        assert.equal(u.counters.diedWhileReading, 1);
        assert.equal(u.counters.diedWhileWriting, 0);
        assert.equal(u.lastError!.cause, 'query-timeout');
        assert.equal(u.inFlight, 0);
        assert.equal(u.verified!.method, 'name');
        assert.equal(s.global.servfailLocal, 1);
        assert.equal(s.global.rcodes.SERVFAIL, 1);
        const text = await cli(['--control', path]);
        assert.match(
          text.out,
          /^ {2}closed {7}0 died writing, 1 died reading, 0 closed by the server when idle$/m,
        );
      },
      { timeoutMs: 800 },
    );
  });

  it('shows an Opportunistic upstream whose TLS port refuses as in clear text, and counts the downgrade', async () => {
    // A port that was just closed: connecting to it is refused.
    const gone = await startFakeUpstream({});
    await gone.close();
    const plain = await startFakePlain();
    const path = controlPath();
    const stack = await startStack({
      upstreams: [
        {
          address: '127.0.0.1',
          port: gone.port,
          authName: 'dot.test',
          pins: [],
          profile: 'opportunistic',
          clearPort: plain.port,
        },
      ],
      control: { path, required: true },
    });
    try {
      assert.equal(await ask(stack, 'clear.example'), 'NOERROR');
      const s = await status(path);
      const u = upstream(s, 0);
      assert.equal(u.state, 'clear');
      assert.equal(u.profile, 'opportunistic');
      assert.equal(u.handshakeFailures.refused, 1);
      assert.deepEqual([u.counters.downgrades, u.counters.clearQueries, u.counters.answers], [1, 1, 0]);
      assert.ok(u.nextProbeInMs !== null);
      assert.equal(s.global.downgrades, 1);
      assert.deepEqual(s.global.answersByTransport, { tls: 0, clear: 1 });
      const text = await cli(['--control', path]);
      assert.match(
        text.out,
        new RegExp(
          `^in use: {2}127\\.0\\.0\\.1#${gone.port}~dot\\.test \\(in CLEAR TEXT; TLS could not be set up \\(refused: `,
          'm',
        ),
      );
      assert.match(text.out, /^ {2}clear text {3}1 downgrades, 0 upgrades, 1 queries in clear$/m);
    } finally {
      await stack.close();
      await plain.close();
    }
  });

  it('merges the sections other features register, and isolates one that throws', async () => {
    await withStatusStack(
      [{}],
      () => ({ authName: 'dot.test' }),
      async (stack, path) => {
        // Only the made-up sections: the daemon's own (cache, network) are shown elsewhere.
        stack.daemon.statusSections.clear();
        stack.daemon.statusSections.set('cache', () => ({ entries: 3, hits: { total: 5 } }));
        stack.daemon.statusSections.set('broken', () => {
          throw new Error('boom');
        });
        const s = await status(path);
        assert.deepEqual(s.sections, {
          cache: { entries: 3, hits: { total: 5 } },
          broken: { error: 'boom' },
        });
        const prom = await cli(['--prometheus', '--control', path]);
        assert.ok(prom.out.split('\n').includes('dotstub_cache_hits_total 5'), prom.out);
        const text = await cli(['--control', path]);
        assert.match(text.out, /\ncache\n {2}entries: 3\n {2}hits\.total: 5\n/);
      },
    );
  });

  it('redraws with --watch until stopped', async () => {
    await withStatusStack(
      [{}],
      () => ({ authName: 'dot.test' }),
      async (_stack, path) => {
        const controller = new AbortController();
        let draws = 0;
        let out = '';
        const io: StatusIo = {
          out: (t) => {
            out += t;
            if (++draws === 2) controller.abort();
          },
          err: () => undefined,
          tty: false,
          signal: controller.signal,
        };
        assert.equal(await statusCommand(['--watch', '0.5', '--json', '--control', path], io), 0);
        const lines = out.trim().split('\n');
        assert.equal(lines.length, 2);
        for (const line of lines) assert.equal((JSON.parse(line) as StatusSnapshot).version, 1);
      },
    );
  });

  it('says the daemon is not running, with exit code 69', async () => {
    const r = await cli(['--control', controlPath()]);
    assert.equal(r.code, 69);
    assert.equal(r.out, '');
    assert.match(r.err, /^dotstub status: cannot reach the daemon at .*: the daemon is not running/);
  });

  it('rejects bad flags with exit code 64', async () => {
    assert.equal((await cli(['--json', '--prometheus'])).code, 64);
    assert.equal((await cli(['--watch', '0.1'])).code, 64);
    assert.equal((await cli(['--bogus'])).code, 64);
  });
});
