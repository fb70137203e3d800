import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseStatusArgs, renderStatus } from '../../src/cli/status-command.js';
import { formatDuration } from '../../src/cli/status-format.js';
import { escapeLabel, formatPrometheus, metricName } from '../../src/cli/status-prometheus.js';
import { formatStatusText, reason } from '../../src/cli/status-text.js';
import type { StatusSnapshot } from '../../src/control/status-types.js';
import {
  AuthenticationError,
  ConnectError,
  ConnectTimeoutError,
  PinMismatchError,
} from '../../src/errors.js';
import { findAdminGroup } from '../../src/server/admin-group.js';
import { ControlServer } from '../../src/server/control-server.js';
import { handshakeFailureCause } from '../../src/upstream/upstream-stats.js';
import { createLogger } from '../../src/util/logger.js';
import { percentile, RttWindow } from '../../src/util/rtt-window.js';
import { goodUpstream, pinFailedUpstream, snapshot } from '../helpers/status-fixture.js';

describe('RTT window', () => {
  it('has nothing to say before the first answer', () => {
    assert.equal(new RttWindow(8).summary(), undefined);
    assert.equal(percentile([], 0.5), 0);
  });

  it('gives nearest-rank percentiles, average, min and max', () => {
    const w = new RttWindow(100);
    // Added out of order: the window sorts only when asked.
    for (let i = 100; i >= 1; i--) w.add(i);
    assert.deepEqual(w.summary(), {
      count: 100,
      avgMs: 50.5,
      minMs: 1,
      maxMs: 100,
      p50Ms: 50,
      p90Ms: 90,
      p99Ms: 99,
    });
  });

  it('keeps only the newest samples once full', () => {
    const w = new RttWindow(4);
    for (const ms of [1000, 2000, 3, 4, 5, 6]) w.add(ms);
    assert.deepEqual(w.summary(), { count: 4, avgMs: 4.5, minMs: 3, maxMs: 6, p50Ms: 4, p90Ms: 6, p99Ms: 6 });
    assert.equal(w.count, 4);
  });

  it('refuses a window without room', () => {
    assert.throws(() => new RttWindow(0), RangeError);
  });
});

describe('handshake failure causes', () => {
  const err = (code: string, extra: Record<string, unknown> = {}): ConnectError =>
    new ConnectError('t', Object.assign(new Error(code), { code, ...extra }));
  it('classifies by class and Node code, never by message', () => {
    const cases: [unknown, string][] = [
      [new PinMismatchError('t', ['x']), 'pin-mismatch'],
      [new AuthenticationError('t', 'expired', 'd', 'f'), 'expired'],
      [new AuthenticationError('t', 'name-mismatch', 'd', 'f'), 'name-mismatch'],
      [new ConnectTimeoutError('t', 'tls', 10), 'timeout'],
      [err('ECONNREFUSED'), 'refused'],
      [err('ECONNRESET'), 'reset'],
      [err('EHOSTUNREACH'), 'unreachable'],
      [err('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), 'protocol'],
      [err('ERR_X', { reason: 'wrong version number' }), 'protocol'],
      [err('EWHATEVER'), 'other'],
      [new Error('ECONNREFUSED'), 'other'],
    ];
    for (const [e, cause] of cases) assert.equal(handshakeFailureCause(e), cause, String(e));
  });
});

describe('admin group of the control socket', () => {
  const group = 'root:x:0:\nadm:x:4:syslog\nwheel:x:10:\nadmin:x:80:\n';
  it('picks adm, then wheel, on Linux; admin on macOS; wheel on FreeBSD; none elsewhere', () => {
    assert.deepEqual(findAdminGroup('linux', group), { name: 'adm', gid: 4 });
    assert.deepEqual(findAdminGroup('linux', 'root:x:0:\nwheel:x:10:\n'), { name: 'wheel', gid: 10 });
    assert.deepEqual(findAdminGroup('darwin', group), { name: 'admin', gid: 80 });
    assert.deepEqual(findAdminGroup('freebsd', group), { name: 'wheel', gid: 10 });
    assert.equal(findAdminGroup('linux', 'root:x:0:\n'), undefined);
    assert.equal(findAdminGroup('win32', group), undefined);
    assert.equal(findAdminGroup('linux', 'adm:x:notanumber:\n'), undefined);
  });

  const root = process.getuid?.() === 0;
  const adm = root ? findAdminGroup(process.platform, readFileSync('/etc/group', 'utf8')) : undefined;
  it(
    'gives the socket and the directory it made to that group when running as root',
    { skip: adm === undefined },
    async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'dotstub-grp-')), 'run');
      const path = join(dir, 'control.sock');
      const server = await ControlServer.listen(
        path,
        createLogger({ level: 'error', write: () => undefined }),
      );
      try {
        assert.equal(statSync(path).gid, adm!.gid);
        assert.equal(statSync(path).mode & 0o777, 0o660);
        assert.equal(statSync(dir).gid, adm!.gid);
        assert.equal(statSync(dir).mode & 0o777, 0o750);
      } finally {
        await server.close();
      }
    },
  );
});

describe('dotstub status output', () => {
  it('prints the text form: in use, why the other is not, each upstream, totals, sections', () => {
    assert.equal(formatStatusText(snapshot, { utc: true }), GOLDEN_TEXT);
  });

  it('never says "no valid upstreams": all backing off is said as such', () => {
    const all: StatusSnapshot = { ...snapshot, upstreams: [pinFailedUpstream] };
    const text = formatStatusText(all, { utc: true });
    assert.match(text, /^in use: {2}none right now: every upstream is backing off/m);
    assert.match(
      text,
      /^other: {3}149\.112\.112\.112#853~dns\.quad9\.net: backing off until 23:41:05 \(in 4\.2 s\)/m,
    );
    const fresh: StatusSnapshot = {
      ...snapshot,
      upstreams: [{ ...goodUpstream, lastAnswerAgoMs: null, state: 'idle' }],
    };
    assert.match(
      formatStatusText(fresh),
      /^in use: {2}none yet: no query has been answered since the start$/m,
    );
  });

  it('explains clear text and probing', () => {
    const clear = {
      ...goodUpstream,
      state: 'clear' as const,
      nextProbeInMs: 8000,
      lastError: { cause: 'refused', message: 'connecting to x: refused' },
    };
    assert.equal(
      reason(clear),
      'TLS could not be set up (refused: connecting to x: refused): answering in CLEAR TEXT, next TLS probe in 8.0 s',
    );
    assert.equal(
      reason({ ...clear, state: 'probing' }),
      'being probed after refused: connecting to x: refused',
    );
  });

  it('prints the Prometheus text format', () => {
    const lines = formatPrometheus(snapshot).split('\n');
    const expected = [
      '# HELP dotstub_client_queries_total Client queries received, by transport.',
      '# TYPE dotstub_client_queries_total counter',
      'dotstub_client_queries_total{transport="udp"} 100',
      'dotstub_client_queries_total{transport="tcp"} 23',
      'dotstub_responses_total{rcode="SERVFAIL"} 4',
      'dotstub_outstanding_queries_peak 17',
      'dotstub_udp_read_pauses_total 3',
      '# TYPE dotstub_outstanding_queries gauge',
      'dotstub_resident_memory_bytes 52428800',
      'dotstub_upstream_state{upstream="149.112.112.112#853",state="backing-off"} 1',
      'dotstub_upstream_state{upstream="9.9.9.9#853",state="backing-off"} 0',
      'dotstub_upstream_backoff_remaining_seconds{upstream="149.112.112.112#853"} 4.2',
      'dotstub_upstream_keepalive_seconds{upstream="9.9.9.9#853"} 30',
      'dotstub_upstream_split_frames{upstream="9.9.9.9#853"} 1',
      'dotstub_upstream_split_frames{upstream="149.112.112.112#853"} 0',
      'dotstub_upstream_rtt_seconds{upstream="9.9.9.9#853",quantile="0.99"} 0.064125',
      'dotstub_upstream_connections_reused_total{upstream="9.9.9.9#853"} 118',
      'dotstub_upstream_died_while_reading_total{upstream="9.9.9.9#853"} 1',
      'dotstub_upstream_handshake_failures_total{upstream="149.112.112.112#853",cause="pin-mismatch"} 3',
      '# TYPE dotstub_upstream_handshake_failures_total counter',
      'dotstub_cache_entries 42',
      '# TYPE dotstub_cache_entries untyped',
    ];
    for (const line of expected) assert.ok(lines.includes(line), `missing: ${line}`);
    // Gauges without a value (no RTT yet, no keepalive sent) are left out, not printed as 0.
    assert.ok(
      !lines.some((l) => l.startsWith('dotstub_upstream_rtt_seconds{upstream="149.112.112.112#853"')),
    );
    assert.ok(
      !lines.some((l) => l.startsWith('dotstub_upstream_keepalive_seconds{upstream="149.112.112.112#853"')),
    );
    // One HELP and one TYPE per family, each before its samples.
    const types = lines.filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(types).size, types.length);
    for (const l of lines)
      assert.match(l, /^(# (HELP|TYPE) dotstub_\w+ .+|dotstub_\w+(\{[^}]*\})? [-+\d.eInfNa]+|)$/);
  });

  it('names and escapes for Prometheus', () => {
    assert.equal(metricName('diedWhileReading'), 'died_while_reading');
    assert.equal(metricName('hits.total'), 'hits_total');
    assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  });

  it('prints JSON that reads back as the same snapshot', () => {
    assert.deepEqual(JSON.parse(renderStatus(snapshot, 'json', false)), snapshot);
  });

  it('formats durations', () => {
    assert.deepEqual([450, 4200, 42_000, 65_000, 3_723_000].map(formatDuration), [
      '0.45 s',
      '4.2 s',
      '42 s',
      '1m05s',
      '1h02m03s',
    ]);
  });

  it('parses --watch with and without seconds', () => {
    assert.equal(parseStatusArgs(['--watch']).watchS, 2);
    assert.equal(parseStatusArgs(['--watch', '5']).watchS, 5);
    assert.equal(parseStatusArgs(['--watch=0.5', '--json']).watchS, 0.5);
    assert.equal(parseStatusArgs(['--watch', '--json']).format, 'json');
    assert.equal(parseStatusArgs(['--prometheus']).format, 'prometheus');
    assert.equal(parseStatusArgs([]).watchS, undefined);
    assert.throws(() => parseStatusArgs(['--watch', '7200']), /from 0.5 to 3600/);
    assert.throws(() => parseStatusArgs(['--json', '--prometheus']), /choose one/);
  });
});

const GOLDEN_TEXT = `dotstub 0.1.0 (pid 4242, up 1h02m03s), listening on 127.0.0.1@53, [::1]@53, strategy ordered
in use:  9.9.9.9#853~dns.quad9.net (pin matched on depth 1 (CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1), name dns.quad9.net verified; answered 1.5 s ago)
other:   149.112.112.112#853~dns.quad9.net: backing off until 23:41:05 (in 4.2 s) after pin-mismatch: failed authentication (pin-mismatch): no configured pin matches

upstream 149.112.112.112#853~dns.quad9.net  strict  BACKING OFF
  state        backing off until 23:41:05 (in 4.2 s) after pin-mismatch: failed authentication (pin-mismatch): no configured pin matches
  auth         no connection yet
  server       keepalive not sent by the server; answers not padded
  frames       whole only: the server closed a connection on a split frame (RFC 7766 sec. 8)
  rtt          no answers yet
  queries      3 asked, 0 answered, 0 timed out, 3 failed, 0 in flight
  connections  0 open, 0 opened, 0 queries on reused ones, 0 resumed
  closed       0 died writing, 0 died reading, 0 closed by the server when idle
  dropped      0 unmatched answers
  handshakes   failed: pin-mismatch 3

upstream 9.9.9.9#853~dns.quad9.net  strict  CONNECTED
  state        answered 1.5 s ago
  auth         pin matched on depth 1 (CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1), name dns.quad9.net verified
  tls          TLSv1.3 TLS_AES_256_GCM_SHA384, session resumed
  server       keepalive 30 s; answers padded (118 of 118)
  rtt          avg 14.3 ms, p50 12.5, p90 21.0, p99 64.1 ms over the last 120 answers
  queries      120 asked, 118 answered, 1 timed out, 1 failed, 2 in flight
  connections  1 open, 2 opened, 118 queries on reused ones, 1 resumed
  closed       0 died writing, 1 died reading, 1 closed by the server when idle
  dropped      3 unmatched answers
  handshakes   no failures

totals
  client queries    udp 100, tcp 23
  upstream answers  tls 118, clear 0
  answers by rcode  NOERROR 110, FORMERR 1, SERVFAIL 4, NXDOMAIN 8, NOTIMP 0, REFUSED 0, other 0
  made here         4 SERVFAIL (0 of them for overload), 0 dropped, 2 truncated for UDP
  clear text        0 downgrades to clear, 0 back to TLS
  outstanding       2 now, 17 peak; UDP reads paused 3 times for it
  memory            rss 50.0 MiB, heap 12.0 MiB of 20.0 MiB

cache
  entries: 42
  hits: 7
`;
