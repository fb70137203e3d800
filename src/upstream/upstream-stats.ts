/**
 * Counters a DoT upstream and its connections keep for `dotstub status` (in the manner of dnsdist's
 * showTCPStats and showTLSErrorCounters). The hot path only increments integers on plain objects made once
 * per upstream: no allocation per query.
 */
import {
  AuthenticationError,
  ConnectError,
  ConnectTimeoutError,
  QueryTimeoutError,
  type AuthFailureReason,
} from '../errors.js';
import { OPTION_PADDING } from '../dns/edns.js';
import type { ParsedMessage } from '../dns/wire.js';
import type { RttWindow } from '../util/rtt-window.js';

/** Why a TLS connection could not be set up: an authentication reason, or a transport one. */
export type HandshakeFailureCause =
  AuthFailureReason | 'timeout' | 'refused' | 'reset' | 'unreachable' | 'other';

export const HANDSHAKE_FAILURE_CAUSES: readonly HandshakeFailureCause[] = [
  'pin-mismatch',
  'name-mismatch',
  'expired',
  'not-yet-valid',
  'untrusted',
  'self-signed',
  'no-certificate',
  'protocol',
  'timeout',
  'refused',
  'reset',
  'unreachable',
  'other',
];

/** What a StreamConnection records about itself into its upstream's counters. */
export interface ConnectionCounters {
  /** Queries answered (counted by the connection that got the answer). */
  answers: number;
  /** Queries that got no answer within their share of the deadline. */
  timeouts: number;
  /** Queries that failed otherwise (connection closed, busy, handshake failed). */
  failures: number;
  /** Queries sent on a connection that had carried a query before (the pipelining at work). */
  connectionsReused: number;
  /** Connections that broke with bytes of ours still unsent. */
  diedWhileWriting: number;
  /** Connections that broke (error, reset, FIN or stall) while queries waited for their answers. */
  diedWhileReading: number;
  /** Connections the server closed while nothing was in flight (its idle timeout). */
  closedByServer: number;
  /** Answers that matched no query in flight (wrong ID or question, duplicate, unsolicited). */
  unmatchedAnswers: number;
  /** Answers that carried an EDNS(0) Padding option (RFC 7830, option 12). */
  paddedAnswers: number;
  /** The server's last RFC 7828 keepalive timeout in ms; -1 when it never sent one. */
  keepaliveMs: number;
  /** Clock time of the last matched answer; -1 before the first. */
  lastAnswerAt: number;
}

export interface ConnectionStats {
  readonly counters: ConnectionCounters;
  readonly rtt: RttWindow;
}

export interface TlsUpstreamCounters extends ConnectionCounters {
  queries: number;
  connectionsOpened: number;
  resumptions: number;
  /** Connections used without authentication (Opportunistic only). */
  unauthenticated: number;
  readonly handshakeFailures: Record<HandshakeFailureCause, number>;
}

export function newTlsUpstreamCounters(): TlsUpstreamCounters {
  const handshakeFailures = Object.fromEntries(HANDSHAKE_FAILURE_CAUSES.map((c) => [c, 0])) as Record<
    HandshakeFailureCause,
    number
  >;
  return {
    queries: 0,
    answers: 0,
    timeouts: 0,
    failures: 0,
    connectionsOpened: 0,
    resumptions: 0,
    unauthenticated: 0,
    connectionsReused: 0,
    diedWhileWriting: 0,
    diedWhileReading: 0,
    closedByServer: 0,
    unmatchedAnswers: 0,
    paddedAnswers: 0,
    keepaliveMs: -1,
    lastAnswerAt: -1,
    handshakeFailures,
  };
}

const TRANSPORT_CAUSES: Readonly<Record<string, HandshakeFailureCause>> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

/** Classifies a failed connect by the error's class and Node's code, never by its message text. */
export function handshakeFailureCause(err: unknown): HandshakeFailureCause {
  if (err instanceof AuthenticationError) return err.reason;
  if (err instanceof ConnectTimeoutError) return 'timeout';
  if (!(err instanceof ConnectError)) return 'other';
  const cause = err.cause as { code?: unknown; reason?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  const byCode = TRANSPORT_CAUSES[code];
  if (byCode !== undefined) return byCode;
  // OpenSSL failures (an alert, no shared version or cipher, no ALPN) carry ERR_SSL_* codes and a reason.
  return code.startsWith('ERR_SSL') || typeof cause?.reason === 'string' ? 'protocol' : 'other';
}

/** True when an answer carries the RFC 7830 Padding option. A scan of the OPT record: no allocation. */
export function isPadded(msg: ParsedMessage): boolean {
  return msg.opt !== undefined && msg.opt.indexOf(OPTION_PADDING) >= 0;
}

/** An answer matched to its query (clock ms: when it was read, when its query was sent). */
export function countAnswer(stats: ConnectionStats, msg: ParsedMessage, at: number, sentAt: number): void {
  stats.counters.answers++;
  stats.rtt.add(at - sentAt);
  stats.counters.lastAnswerAt = at;
  if (isPadded(msg)) stats.counters.paddedAnswers++;
}

/** A query that failed: timed out, or anything else (the counters status shows per upstream). */
export function countFailure(counters: ConnectionCounters, err: Error): void {
  if (err instanceof QueryTimeoutError) counters.timeouts++;
  else counters.failures++;
}

/** A connection that was not ours to end: what it was doing then (dnsdist's "died reading/sending"). */
export function countDeath(counters: ConnectionCounters, writing: boolean, waiting: boolean): void {
  if (writing) counters.diedWhileWriting++;
  else if (waiting) counters.diedWhileReading++;
  else counters.closedByServer++;
}
