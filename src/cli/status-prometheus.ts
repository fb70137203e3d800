/**
 * `dotstub status --prometheus`: the same numbers in the Prometheus text exposition format (version 0.0.4):
 * one HELP and TYPE line per family, then its samples; `dotstub_` prefix; upstreams labelled
 * upstream="IP#PORT". Counters end in `_total`; everything else is a gauge. Numbers in a feature's status
 * section become untyped `dotstub_<section>_<path>` samples.
 */
import type { StatusSnapshot, UpstreamState, UpstreamStatus } from '../control/status-types.js';
import { flatten } from './status-format.js';

type Kind = 'counter' | 'gauge' | 'untyped';
type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

const UPSTREAM_STATES: readonly UpstreamState[] = ['connected', 'idle', 'backing-off', 'probing', 'clear'];

/** HELP texts of the per-upstream counters (keys of UpstreamStatus.counters); others get a generic one. */
const UPSTREAM_COUNTER_HELP: Readonly<Record<string, string>> = {
  queries: 'Queries sent to the upstream.',
  answers: 'Answers received from the upstream.',
  timeouts: 'Queries that got no answer in time.',
  failures: 'Queries that failed otherwise (connection closed, busy, handshake failed).',
  connectionsOpened: 'TLS connections opened.',
  connectionsReused: 'Queries sent on a connection that had carried a query before.',
  resumptions: 'TLS connections that resumed a session.',
  unauthenticated: 'TLS connections used without authentication (Opportunistic).',
  diedWhileWriting: 'Connections that broke with query bytes still unsent.',
  diedWhileReading: 'Connections that broke while queries waited for answers.',
  closedByServer: 'Connections the server closed while idle.',
  unmatchedAnswers: 'Answers that matched no query in flight, dropped.',
  paddedAnswers: 'Answers carrying EDNS(0) padding (RFC 7830).',
  downgrades: 'Times TLS could not be set up and the upstream went to clear text.',
  upgrades: 'Times TLS worked again after clear text.',
  clearQueries: 'Queries answered in clear text (Opportunistic).',
};

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** camelCase and anything outside [a-zA-Z0-9_] to snake_case. */
export function metricName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}

/** Milliseconds to seconds without float noise (17.944 ms -> 0.017944, not 0.017943999999999998). */
const seconds = (ms: number): number => Math.round(ms * 1000) / 1e6;

function sampleLine(name: string, [labels, value]: Sample): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length === 0 ? '' : `{${pairs.join(',')}}`} ${formatValue(value)}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}

class Exposition {
  readonly #lines: string[] = [];

  family(name: string, kind: Kind, help: string, samples: readonly Sample[]): void {
    if (samples.length === 0) return;
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`);
    for (const sample of samples) this.#lines.push(sampleLine(name, sample));
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

const byKey = (o: Readonly<Record<string, number>>, label: string): Sample[] =>
  Object.entries(o).map(([k, v]) => [{ [label]: k }, v]);

function globalFamilies(out: Exposition, s: StatusSnapshot): void {
  const g = s.global;
  out.family(
    'dotstub_client_queries_total',
    'counter',
    'Client queries received, by transport.',
    byKey(g.queries, 'transport'),
  );
  out.family(
    'dotstub_upstream_transport_answers_total',
    'counter',
    'Upstream answers, by transport (tls or clear).',
    byKey(g.answersByTransport, 'transport'),
  );
  out.family(
    'dotstub_responses_total',
    'counter',
    'Answers sent to clients, by RCODE.',
    byKey(g.rcodes, 'rcode'),
  );
  out.family(
    'dotstub_local_servfail_total',
    'counter',
    'SERVFAILs dotstub made itself (no upstream answered, or overloaded).',
    [[{}, g.servfailLocal]],
  );
  out.family(
    'dotstub_overloaded_total',
    'counter',
    'Queries refused with SERVFAIL because too many were outstanding.',
    [[{}, g.overloaded]],
  );
  out.family(
    'dotstub_dropped_total',
    'counter',
    'Client messages dropped unanswered (no header, or not a query).',
    [[{}, g.dropped]],
  );
  out.family('dotstub_truncated_total', 'counter', 'UDP answers truncated to the client size (TC=1).', [
    [{}, g.truncated],
  ]);
  out.family(
    'dotstub_udp_read_pauses_total',
    'counter',
    'Times the UDP listeners stopped reading with a full queue upstream (backpressure).',
    [[{}, g.udpReadPauses]],
  );
  out.family('dotstub_downgrades_total', 'counter', 'Opportunistic upstreams that went to clear text.', [
    [{}, g.downgrades],
  ]);
  out.family('dotstub_upgrades_total', 'counter', 'Opportunistic upstreams back to TLS after clear text.', [
    [{}, g.upgrades],
  ]);
  out.family('dotstub_outstanding_queries', 'gauge', 'Queries being resolved now.', [[{}, g.outstanding]]);
  out.family(
    'dotstub_outstanding_queries_peak',
    'gauge',
    'Most queries outstanding at once since the start.',
    [[{}, g.outstandingPeak]],
  );
  out.family('dotstub_resident_memory_bytes', 'gauge', 'Resident set size.', [[{}, g.memory.rssBytes]]);
  out.family('dotstub_heap_used_bytes', 'gauge', 'V8 heap in use.', [[{}, g.memory.heapUsedBytes]]);
  out.family('dotstub_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [
    [{}, seconds(s.daemon.uptimeMs)],
  ]);
}

function perUpstream(
  upstreams: readonly UpstreamStatus[],
  value: (u: UpstreamStatus) => number | null,
): Sample[] {
  const out: Sample[] = [];
  for (const u of upstreams) {
    const v = value(u);
    if (v !== null) out.push([{ upstream: u.address }, v]);
  }
  return out;
}

function upstreamGauges(out: Exposition, ups: readonly UpstreamStatus[]): void {
  out.family(
    'dotstub_upstream_info',
    'gauge',
    'Constant 1, labelled with the upstream full name, profile and newest TLS version and cipher.',
    ups.map((u) => [
      {
        upstream: u.address,
        id: u.id,
        profile: u.profile ?? 'fallback',
        tls_version: u.auth?.tlsVersion ?? '',
        cipher: u.auth?.cipher ?? '',
        auth: u.auth === null ? '' : u.auth.authenticated ? u.auth.method : 'none',
      },
      1,
    ]),
  );
  out.family(
    'dotstub_upstream_state',
    'gauge',
    'The upstream state: 1 for the current one (connected, idle, backing-off, probing, clear).',
    ups.flatMap((u) =>
      UPSTREAM_STATES.map((st): Sample => [{ upstream: u.address, state: st }, u.state === st ? 1 : 0]),
    ),
  );
  out.family(
    'dotstub_upstream_backoff_remaining_seconds',
    'gauge',
    'Seconds until a backing-off upstream is tried again (0 when not backing off).',
    perUpstream(ups, (u) => seconds(u.backoff?.inMs ?? 0)),
  );
  out.family(
    'dotstub_upstream_open_connections',
    'gauge',
    'Open TLS connections.',
    perUpstream(ups, (u) => (u.kind === 'tls' ? u.openConnections : null)),
  );
  out.family(
    'dotstub_upstream_in_flight',
    'gauge',
    'Queries waiting for an answer from the upstream.',
    perUpstream(ups, (u) => u.inFlight),
  );
  out.family(
    'dotstub_upstream_keepalive_seconds',
    'gauge',
    "The server's RFC 7828 idle timeout, as it last said.",
    perUpstream(ups, (u) => (u.keepaliveMs === null ? null : seconds(u.keepaliveMs))),
  );
  out.family(
    'dotstub_upstream_split_frames',
    'gauge',
    '1 while the first octet of a frame may go ahead to free a held answer; 0 once the server closed on one.',
    perUpstream(ups, (u) => (u.splitFrames === null ? null : u.splitFrames ? 1 : 0)),
  );
  out.family(
    'dotstub_upstream_rtt_average_seconds',
    'gauge',
    'Average round-trip time over the recent answers window.',
    perUpstream(ups, (u) => (u.rtt === null ? null : seconds(u.rtt.avgMs))),
  );
  out.family(
    'dotstub_upstream_rtt_seconds',
    'gauge',
    'Round-trip time percentiles over the recent answers window.',
    ups.flatMap((u): Sample[] => {
      const r = u.rtt;
      if (r === null) return [];
      return [
        [{ upstream: u.address, quantile: '0.5' }, seconds(r.p50Ms)],
        [{ upstream: u.address, quantile: '0.9' }, seconds(r.p90Ms)],
        [{ upstream: u.address, quantile: '0.99' }, seconds(r.p99Ms)],
      ];
    }),
  );
}

function upstreamCounters(out: Exposition, ups: readonly UpstreamStatus[]): void {
  const names: string[] = [];
  for (const u of ups)
    for (const name of Object.keys(u.counters)) if (!names.includes(name)) names.push(name);
  for (const name of names) {
    out.family(
      `dotstub_upstream_${metricName(name)}_total`,
      'counter',
      UPSTREAM_COUNTER_HELP[name] ?? `The upstream's ${name} counter.`,
      perUpstream(ups, (u) => u.counters[name] ?? null),
    );
  }
  out.family(
    'dotstub_upstream_handshake_failures_total',
    'counter',
    'TLS connections that could not be set up, by cause.',
    ups.flatMap((u) =>
      Object.entries(u.handshakeFailures).map(([cause, n]): Sample => [{ upstream: u.address, cause }, n]),
    ),
  );
}

function sectionFamilies(out: Exposition, s: StatusSnapshot): void {
  for (const [section, value] of Object.entries(s.sections)) {
    for (const [path, leaf] of flatten(value)) {
      if (typeof leaf !== 'number') continue;
      const name = `dotstub_${metricName(section)}${path === '' ? '' : `_${metricName(path)}`}`;
      out.family(name, 'untyped', `From the ${section} status section: ${path === '' ? section : path}.`, [
        [{}, leaf],
      ]);
    }
  }
}

export function formatPrometheus(s: StatusSnapshot): string {
  const out = new Exposition();
  globalFamilies(out, s);
  upstreamGauges(out, s.upstreams);
  upstreamCounters(out, s.upstreams);
  sectionFamilies(out, s);
  return out.text();
}
