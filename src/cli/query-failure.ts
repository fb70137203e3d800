/**
 * Why a `dotstub query` got no answer, in words and as an exit code: getdns_query says `1 'Generic error'`
 * for all of it (../shared/anchors.md sec. 2.2); we name the cause, from the error classes, never their text.
 */
import {
  AllUpstreamsFailedError,
  AuthenticationError,
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  PinMismatchError,
  ProtocolError,
  QueryTimeoutError,
  UpstreamBusyError,
  type AuthFailureReason,
} from '../errors.js';

/** Exit statuses of `dotstub query` (sysexits.h values where one fits). */
export const QUERY_EXIT = {
  /** An answer came back, whatever its RCODE. */
  answered: 0,
  /** Anything not listed below. */
  other: 1,
  usage: 64,
  /** Refused, reset, unreachable, TLS handshake or version failure, connection closed (EX_UNAVAILABLE). */
  network: 69,
  /** The connect, handshake or answer did not come in time (EX_TEMPFAIL). */
  timeout: 75,
  /** The server's TLS identity did not pass: pin, name, expiry, trust (EX_NOPERM). */
  authentication: 77,
  /** The --config or --ca-file file is unreadable or wrong, as for `dotstub run` (EX_CONFIG). */
  config: 78,
} as const;

export type FailureCause =
  | AuthFailureReason
  | 'refused'
  | 'reset'
  | 'unreachable'
  | 'tls-version'
  | 'tls-handshake'
  | 'timeout'
  | 'closed'
  | 'bad-answer'
  | 'busy'
  | 'no-upstream'
  | 'other';

export interface AttemptFailure {
  readonly cause: FailureCause;
  readonly code: string | undefined;
  readonly message: string;
}

export interface FailureFacts {
  /** The most specific cause among the upstreams tried. */
  readonly cause: FailureCause;
  /** One line: the cause in words, e.g. `pin mismatch: the server presented pin-sha256="..."`. */
  readonly summary: string;
  readonly exitCode: number;
  /** With a pin mismatch: the pins of the chain the server presented. */
  readonly seenPins: readonly string[] | undefined;
  /** Every upstream's failure, most specific first. */
  readonly attempts: readonly AttemptFailure[];
}

const AUTH_SUMMARY: Readonly<Record<AuthFailureReason, string>> = {
  'pin-mismatch': 'pin mismatch',
  'name-mismatch': 'name mismatch: the certificate is not for the authentication name',
  expired: 'the certificate has expired',
  'not-yet-valid': 'the certificate is not valid yet (check the clock)',
  untrusted:
    'the certificate is not trusted: no trusted CA issued it (add it with --ca-file, or pin it with -K)',
  'self-signed': 'the certificate is self-signed and not pinned (pin it with -K)',
  'no-certificate': 'the server could not be authenticated (no certificate, or nothing to check it against)',
  protocol: 'the server does not speak TLS 1.2 or newer',
};

const OTHER_SUMMARY: Readonly<Record<Exclude<FailureCause, AuthFailureReason>, string>> = {
  refused: 'connection refused: nothing listens on that port',
  reset: 'connection reset by the server',
  unreachable: 'network or host unreachable',
  'tls-version': 'TLS version mismatch: the server and dotstub (TLS 1.2 or newer) share no TLS version',
  'tls-handshake': 'the TLS handshake failed (is it a DNS-over-TLS port?)',
  timeout: 'timed out',
  closed: 'the connection closed before the answer',
  'bad-answer': 'the server sent something that is not a DNS answer',
  busy: 'the upstream is at its in-flight limit',
  'no-upstream': 'no upstream is available',
  other: 'the query failed',
};

const TLS_VERSION_CODES =
  /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_(LOW|HIGH)/;

function connectCause(err: ConnectError): FailureCause {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return 'unreachable';
  if (TLS_VERSION_CODES.test(code)) return 'tls-version';
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) return 'tls-handshake';
  return 'other';
}

export function causeOf(err: Error): FailureCause {
  if (err instanceof AuthenticationError) return err.reason;
  if (err instanceof ConnectTimeoutError || err instanceof QueryTimeoutError) return 'timeout';
  if (err instanceof ConnectError) return connectCause(err);
  if (err instanceof ConnectionClosedError) return 'closed';
  if (err instanceof ProtocolError) return 'bad-answer';
  if (err instanceof UpstreamBusyError) return 'busy';
  return 'other';
}

export function exitCodeOf(cause: FailureCause): number {
  if (cause in AUTH_SUMMARY) return QUERY_EXIT.authentication;
  if (cause === 'timeout') return QUERY_EXIT.timeout;
  return cause === 'other' || cause === 'no-upstream' ? QUERY_EXIT.other : QUERY_EXIT.network;
}

function summaryOf(cause: FailureCause, first: Error | undefined): string {
  const text =
    cause in AUTH_SUMMARY
      ? AUTH_SUMMARY[cause as AuthFailureReason]
      : OTHER_SUMMARY[cause as Exclude<FailureCause, AuthFailureReason>];
  if (first instanceof PinMismatchError)
    return `${text}: no -K pin matches; the server presented ${first.seenPins.map((p) => `pin-sha256="${p}"`).join(', ')}`;
  if (first instanceof ConnectTimeoutError)
    return `${text}: the ${first.phase === 'tcp' ? 'TCP connect' : 'TLS handshake'} did not finish in time`;
  return text;
}

/** The facts of a failed query, from the resolver's error (AllUpstreamsFailedError, usually). */
export function failureFacts(error: Error | undefined): FailureFacts {
  const errors = error instanceof AllUpstreamsFailedError ? error.errors : error === undefined ? [] : [error];
  const first = errors[0];
  const cause = first === undefined ? 'no-upstream' : causeOf(first);
  return {
    cause,
    summary: summaryOf(cause, first),
    exitCode: exitCodeOf(cause),
    seenPins: first instanceof PinMismatchError ? first.seenPins : undefined,
    attempts: errors.map((e) => ({
      cause: causeOf(e),
      code: (e as { code?: string }).code,
      message: e.message,
    })),
  };
}
