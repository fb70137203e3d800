/** One upstream's part of the status snapshot: its state, why, its TLS facts and its counters. */
import type { AuthStatus, UpstreamState, UpstreamStatus } from '../control/status-types.js';
import {
  AuthenticationError,
  ConnectError,
  ConnectTimeoutError,
  ConnectionClosedError,
  ProtocolError,
  QueryTimeoutError,
  UpstreamBusyError,
} from '../errors.js';
import type { UpstreamHealth } from '../resolver/upstream-health.js';
import { OpportunisticUpstream } from '../upstream/opportunistic-upstream.js';
import { PlainUpstream } from '../upstream/plain-upstream.js';
import { TlsUpstream } from '../upstream/tls-upstream.js';
import { handshakeFailureCause } from '../upstream/upstream-stats.js';
import type { AuthInfo, Upstream } from '../upstream/upstream.js';
import type { RttSummary } from '../util/rtt-window.js';
import { bracketed } from '../util/ip-literal.js';

/** A stable, short word for what went wrong, by error class (never by message text). */
export function errorCause(err: Error): string {
  if (err instanceof AuthenticationError || err instanceof ConnectTimeoutError || err instanceof ConnectError)
    return handshakeFailureCause(err);
  if (err instanceof QueryTimeoutError) return 'query-timeout';
  if (err instanceof ConnectionClosedError) return 'connection-closed';
  if (err instanceof UpstreamBusyError) return 'busy';
  if (err instanceof ProtocolError) return 'protocol';
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'error';
}

function authStatus(auth: AuthInfo | undefined): AuthStatus | null {
  if (auth === undefined) return null;
  return {
    authenticated: auth.authenticated,
    method: auth.method,
    failure: auth.failure ?? null,
    resumed: auth.resumed,
    pinDepth: auth.pinDepth ?? null,
    pinSubject: auth.pinSubject ?? null,
    tlsVersion: auth.tlsVersion,
    cipher: auth.cipher,
  };
}

export interface Moment {
  /** The daemon clock's now (monotonic ms), on the scale of backoff times and answer times. */
  readonly clockNow: number;
  /** Wall-clock now (ms since the epoch). */
  readonly wallNow: number;
}

function stateOf(
  health: UpstreamHealth,
  tls: TlsUpstream | undefined,
  opportunistic: OpportunisticUpstream | undefined,
): UpstreamState {
  if (health.state.kind === 'backingOff') return 'backing-off';
  if (health.state.kind === 'probing') return 'probing';
  if (opportunistic?.inClear === true) return opportunistic.probing ? 'probing' : 'clear';
  if (tls?.connections.some((c) => c.state !== 'closed') === true) return 'connected';
  return 'idle';
}

function addressOf(upstream: Upstream): string {
  const host = bracketed(upstream.spec.address);
  return `${host}#${upstream.spec.port}`;
}

/** Microseconds are plenty: no float noise like 0.8549329999996 in JSON and Prometheus. */
function rounded(rtt: RttSummary | undefined): RttSummary | null {
  if (rtt === undefined) return null;
  const r = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    count: rtt.count,
    avgMs: r(rtt.avgMs),
    minMs: r(rtt.minMs),
    maxMs: r(rtt.maxMs),
    p50Ms: r(rtt.p50Ms),
    p90Ms: r(rtt.p90Ms),
    p99Ms: r(rtt.p99Ms),
  };
}

function tlsPart(
  tls: TlsUpstream,
  at: Moment,
): Omit<
  UpstreamStatus,
  'id' | 'address' | 'kind' | 'profile' | 'authName' | 'state' | 'backoff' | 'lastError' | 'nextProbeInMs'
> {
  const c = tls.counters;
  const open = tls.connections.filter((conn) => conn.state !== 'closed');
  const { handshakeFailures, keepaliveMs, lastAnswerAt, ...counts } = c;
  return {
    openConnections: open.length,
    inFlight: open.reduce((sum, conn) => sum + conn.inFlight, 0),
    auth: authStatus(tls.lastAuth),
    verified: authStatus(tls.lastFullAuth),
    keepaliveMs: keepaliveMs < 0 ? null : keepaliveMs,
    padded: c.paddedAnswers > 0,
    splitFrames: tls.splitFrames,
    rtt: rounded(tls.rtt.summary()),
    lastAnswerAgoMs: lastAnswerAt < 0 ? null : Math.max(0, Math.round(at.clockNow - lastAnswerAt)),
    counters: { ...counts },
    handshakeFailures: { ...handshakeFailures },
  };
}

function backoffOf(health: UpstreamHealth, at: Moment): UpstreamStatus['backoff'] {
  const state = health.state;
  if (state.kind !== 'backingOff') return null;
  return {
    until: new Date(at.wallNow + (state.until - at.clockNow)).toISOString(),
    inMs: Math.max(0, Math.round(state.until - at.clockNow)),
    count: health.backoffs,
  };
}

function nextProbeIn(opportunistic: OpportunisticUpstream | undefined, at: Moment): number | null {
  if (opportunistic?.inClear !== true) return null;
  return Math.max(0, Math.round(opportunistic.nextProbeAt - at.clockNow));
}

function plainPart(plain: PlainUpstream | undefined): Pick<UpstreamStatus, 'kind' | 'inFlight' | 'counters'> {
  return plain === undefined
    ? { kind: 'tls', inFlight: 0, counters: {} }
    : { kind: 'fallback', inFlight: plain.inFlight, counters: { ...plain.counters } };
}

export function upstreamStatus(upstream: Upstream, health: UpstreamHealth, at: Moment): UpstreamStatus {
  const opportunistic = upstream instanceof OpportunisticUpstream ? upstream : undefined;
  const tls = upstream instanceof TlsUpstream ? upstream : opportunistic?.tls;
  const plain = upstream instanceof PlainUpstream ? upstream : undefined;
  // In clear text the queries succeed: what put it there is the TLS failure, not a query's.
  const lastError =
    opportunistic?.inClear === true ? (opportunistic.downgradeCause ?? health.lastError) : health.lastError;
  const base: UpstreamStatus = {
    id: upstream.id,
    address: addressOf(upstream),
    profile: plain === undefined ? (upstream.spec.profile ?? 'strict') : null,
    authName: upstream.spec.authName ?? null,
    state: stateOf(health, tls, opportunistic),
    backoff: backoffOf(health, at),
    lastError: lastError === undefined ? null : { cause: errorCause(lastError), message: lastError.message },
    nextProbeInMs: nextProbeIn(opportunistic, at),
    openConnections: 0,
    auth: null,
    verified: null,
    keepaliveMs: null,
    padded: false,
    splitFrames: null,
    rtt: null,
    lastAnswerAgoMs: null,
    handshakeFailures: {},
    ...plainPart(plain),
  };
  if (tls === undefined) return base;
  const part = tlsPart(tls, at);
  return { ...base, ...part, counters: { ...part.counters, ...opportunistic?.counters } };
}
