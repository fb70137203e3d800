/**
 * `dotstub status` for people: which upstream answers, and for every other one why not, in words (stubby
 * users could not tell which upstream was in use, stubby#356, and read "no valid upstreams" when all were
 * merely backing off, stubby#46). Then each upstream's TLS facts and counters, then the totals.
 */
import type { AuthStatus, StatusSnapshot, UpstreamStatus } from '../control/status-types.js';
import { flatten, formatBytes, formatClock, formatDuration, formatMs } from './status-format.js';

export interface TextOptions {
  /** Times in UTC instead of local time (tests, servers in UTC). @default false */
  readonly utc?: boolean;
}

const STATE_WORDS: Record<UpstreamStatus['state'], string> = {
  connected: 'CONNECTED',
  idle: 'IDLE',
  'backing-off': 'BACKING OFF',
  probing: 'PROBING',
  clear: 'IN CLEAR TEXT',
};

function failure(u: UpstreamStatus, brief: boolean): string {
  if (u.lastError === null) return 'a failure';
  const { cause, message } = u.lastError;
  // Error messages start with the upstream's name, which the line has already said.
  let text = message.startsWith(`${u.id} `) ? message.slice(u.id.length + 1) : message;
  // The one-line summary keeps the first clause; the upstream's own block has the rest (seen pins, the fix).
  if (brief) text = text.split(/; |\. Fix: /)[0] ?? text;
  return `${cause}: ${text}`;
}

/** Why an upstream is or is not answering, in one line. */
export function reason(u: UpstreamStatus, options: TextOptions = {}, brief = false): string {
  switch (u.state) {
    case 'backing-off': {
      const b = u.backoff;
      const at = b === null ? '' : formatClock(b.until, options.utc ?? false);
      if (b === null || b.inMs <= 0)
        return `backed off after ${failure(u, brief)}; tried again with the next query`;
      return `backing off until ${at} (in ${formatDuration(b.inMs)}) after ${failure(u, brief)}`;
    }
    case 'probing':
      return `being probed after ${failure(u, brief)}`;
    case 'clear':
      return `TLS could not be set up (${failure(u, brief)}): answering in CLEAR TEXT, ${
        (u.nextProbeInMs ?? 0) > 0
          ? `next TLS probe in ${formatDuration(u.nextProbeInMs ?? 0)}`
          : 'TLS is tried again with the next query'
      }`;
    default:
      return u.lastAnswerAgoMs === null
        ? `${u.state === 'connected' ? 'connected' : 'ready'}, no answer yet`
        : `answered ${formatDuration(u.lastAnswerAgoMs)} ago`;
  }
}

/** The upstream that answered last, among those still usable. */
function inUse(upstreams: readonly UpstreamStatus[]): UpstreamStatus | undefined {
  let best: UpstreamStatus | undefined;
  for (const u of upstreams) {
    if (u.state === 'backing-off' || u.lastAnswerAgoMs === null) continue;
    if (best?.lastAnswerAgoMs == null || u.lastAnswerAgoMs < best.lastAnswerAgoMs) best = u;
  }
  return best ?? upstreams.find((u) => u.state === 'clear' && (u.counters.clearQueries ?? 0) > 0);
}

function authWords(a: AuthStatus | null, authName: string | null): string {
  if (a === null) return 'no connection yet';
  if (!a.authenticated) return `NOT authenticated (${a.failure ?? 'nothing to check'}): encrypted only`;
  const pin =
    a.pinDepth === null
      ? 'pin matched'
      : `pin matched on depth ${a.pinDepth}${a.pinSubject === null ? '' : ` (${a.pinSubject})`}`;
  const name = authName === null ? 'name verified' : `name ${authName} verified`;
  if (a.method === 'pin') return pin;
  if (a.method === 'name') return name;
  return `${pin}, ${name}`;
}

function headline(s: StatusSnapshot, options: TextOptions): string[] {
  const d = s.daemon;
  const lines = [
    `dotstub ${d.version} (pid ${d.pid}, up ${formatDuration(d.uptimeMs)}), listening on ${d.listen.join(', ')}, strategy ${d.strategy}`,
  ];
  const used = inUse(s.upstreams);
  if (used !== undefined) {
    const how =
      used.state === 'clear' ? 'in CLEAR TEXT' : authWords(used.verified ?? used.auth, used.authName);
    lines.push(`in use:  ${used.id} (${how}; ${reason(used, options, true)})`);
  } else if (s.upstreams.length > 0 && s.upstreams.every((u) => u.state === 'backing-off')) {
    lines.push(
      'in use:  none right now: every upstream is backing off (one is retried as soon as its time comes)',
    );
  } else {
    lines.push('in use:  none yet: no query has been answered since the start');
  }
  for (const u of s.upstreams) if (u !== used) lines.push(`other:   ${u.id}: ${reason(u, options, true)}`);
  return lines;
}

const count = (u: UpstreamStatus, name: string): number => u.counters[name] ?? 0;

function tlsLines(u: UpstreamStatus): string[] {
  const a = u.auth;
  const lines = [`  auth         ${authWords(u.verified ?? a, u.authName)}`];
  if (a !== null)
    lines.push(
      `  tls          ${a.tlsVersion} ${a.cipher}, session ${a.resumed ? 'resumed' : 'not resumed'}`,
    );
  const keepalive = u.keepaliveMs === null ? 'not sent by the server' : formatDuration(u.keepaliveMs);
  const padded = u.padded
    ? `answers padded (${count(u, 'paddedAnswers')} of ${count(u, 'answers')})`
    : 'answers not padded';
  lines.push(`  server       keepalive ${keepalive}; ${padded}`);
  // Only when off: the octet ahead of a frame is how every server is treated until one closes on it.
  if (u.splitFrames === false)
    lines.push(
      '  frames       whole only: the server closed a connection on a split frame (RFC 7766 sec. 8)',
    );
  const r = u.rtt;
  lines.push(
    r === null
      ? '  rtt          no answers yet'
      : `  rtt          avg ${formatMs(r.avgMs)} ms, p50 ${formatMs(r.p50Ms)}, p90 ${formatMs(r.p90Ms)}, p99 ${formatMs(r.p99Ms)} ms over the last ${r.count} answers`,
  );
  return lines;
}

function counterLines(u: UpstreamStatus): string[] {
  const c = (name: string): number => count(u, name);
  const lines = [
    `  queries      ${c('queries')} asked, ${c('answers')} answered, ${c('timeouts')} timed out, ${c('failures')} failed, ${u.inFlight} in flight`,
  ];
  if (u.kind === 'fallback') {
    lines.push(
      `  clear        ${c('udpQueries')} over UDP, ${c('tcpRetries')} retried over TCP, ${c('coalesced')} coalesced, ${c('spoofSuspects')} suspect datagrams, ${c('malformed')} malformed`,
    );
    return lines;
  }
  lines.push(
    `  connections  ${u.openConnections} open, ${c('connectionsOpened')} opened, ${c('connectionsReused')} queries on reused ones, ${c('resumptions')} resumed`,
    `  closed       ${c('diedWhileWriting')} died writing, ${c('diedWhileReading')} died reading, ${c('closedByServer')} closed by the server when idle`,
    `  dropped      ${c('unmatchedAnswers')} unmatched answers`,
  );
  const failures = Object.entries(u.handshakeFailures)
    .filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause} ${n}`);
  lines.push(`  handshakes   ${failures.length === 0 ? 'no failures' : `failed: ${failures.join(', ')}`}`);
  if (u.profile === 'opportunistic')
    lines.push(
      `  clear text   ${c('downgrades')} downgrades, ${c('upgrades')} upgrades, ${c('clearQueries')} queries in clear`,
    );
  return lines;
}

function upstreamBlock(u: UpstreamStatus, options: TextOptions): string[] {
  const profile = u.kind === 'fallback' ? 'clear-text fallback' : (u.profile ?? 'strict');
  const lines = [
    `upstream ${u.id}  ${profile}  ${STATE_WORDS[u.state]}`,
    `  state        ${reason(u, options)}`,
  ];
  if (u.kind === 'tls') lines.push(...tlsLines(u));
  lines.push(...counterLines(u));
  return lines;
}

function totals(s: StatusSnapshot): string[] {
  const g = s.global;
  const pairs = (o: Readonly<Record<string, number>>): string =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  return [
    'totals',
    `  client queries    ${pairs(g.queries)}`,
    `  upstream answers  ${pairs(g.answersByTransport)}`,
    `  answers by rcode  ${pairs(g.rcodes)}`,
    `  made here         ${g.servfailLocal} SERVFAIL (${g.overloaded} of them for overload), ${g.dropped} dropped, ${g.truncated} truncated for UDP`,
    `  clear text        ${g.downgrades} downgrades to clear, ${g.upgrades} back to TLS`,
    `  outstanding       ${g.outstanding} now, ${g.outstandingPeak} peak; UDP reads paused ${g.udpReadPauses} times for it`,
    `  memory            rss ${formatBytes(g.memory.rssBytes)}, heap ${formatBytes(g.memory.heapUsedBytes)} of ${formatBytes(g.memory.heapTotalBytes)}`,
  ];
}

/** A feature's section, generically: its name, then `path: value` lines. */
function sectionBlock(name: string, value: unknown): string[] {
  return [name, ...flatten(value).map(([key, leaf]) => `  ${key === '' ? name : key}: ${String(leaf)}`)];
}

export function formatStatusText(s: StatusSnapshot, options: TextOptions = {}): string {
  const blocks = [
    headline(s, options),
    ...s.upstreams.map((u) => upstreamBlock(u, options)),
    totals(s),
    ...Object.entries(s.sections).map(([name, value]) => sectionBlock(name, value)),
  ];
  return `${blocks.map((b) => b.join('\n')).join('\n\n')}\n`;
}
