/**
 * Every error dotstub raises carries a stable `code` (listed in docs/errors.md) and, where it wraps a
 * lower-level failure, a `cause`. Nothing classifies errors by message text.
 */
export class DotstubError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The TCP connect or the TLS handshake did not finish in time. */
export class ConnectTimeoutError extends DotstubError {
  readonly phase: 'tcp' | 'tls';
  constructor(target: string, phase: 'tcp' | 'tls', ms: number) {
    super(
      'ERR_DOTSTUB_CONNECT_TIMEOUT',
      `${phase === 'tcp' ? 'TCP connect' : 'TLS handshake'} to ${target} timed out after ${ms} ms`,
    );
    this.phase = phase;
  }
}

/** Connecting to an upstream failed (refused, reset, unreachable, TLS protocol error). */
export class ConnectError extends DotstubError {
  constructor(target: string, cause: unknown) {
    super('ERR_DOTSTUB_CONNECT', `connecting to ${target}: ${describeCause(cause)}`, { cause });
  }
}

/** The query's end-to-end deadline passed before an answer arrived. */
export class QueryTimeoutError extends DotstubError {
  constructor(message = 'query timed out') {
    super('ERR_DOTSTUB_QUERY_TIMEOUT', message);
  }
}

/** The connection closed before the answer came. `reused` tells the pool whether a retry on a fresh one is due. */
export class ConnectionClosedError extends DotstubError {
  readonly reused: boolean;
  constructor(target: string, reused: boolean, cause?: unknown) {
    super(
      'ERR_DOTSTUB_CONNECTION_CLOSED',
      `connection to ${target} closed before the answer${cause === undefined ? '' : `: ${describeCause(cause)}`}`,
      { cause },
    );
    this.reused = reused;
  }
}

/** Every connection of an upstream is at its in-flight cap; the caller should try elsewhere. */
export class UpstreamBusyError extends DotstubError {
  constructor(target: string) {
    super('ERR_DOTSTUB_UPSTREAM_BUSY', `${target} is at its in-flight limit`);
  }
}

export type AuthFailureReason =
  | 'pin-mismatch'
  | 'name-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'untrusted'
  | 'self-signed'
  | 'no-certificate'
  | 'protocol';

/** The upstream's TLS identity did not satisfy the Strict profile (RFC 8310 sec. 5). */
export class AuthenticationError extends DotstubError {
  readonly reason: AuthFailureReason;
  constructor(target: string, reason: AuthFailureReason, detail: string, fix: string) {
    super('ERR_DOTSTUB_AUTH', `${target} failed authentication (${reason}): ${detail}. Fix: ${fix}`);
    this.reason = reason;
  }
}

/** A pinset did not match any certificate of the validated chain (RFC 7858 sec. 4.2). */
export class PinMismatchError extends AuthenticationError {
  readonly seenPins: readonly string[];
  constructor(target: string, seenPins: readonly string[]) {
    super(
      target,
      'pin-mismatch',
      `no configured pin matches the chain it presented; its pins are ${seenPins.map((p) => `pin-sha256="${p}"`).join(', ')}`,
      'if the server changed its key on purpose, pin one it presented; otherwise someone may be intercepting the connection',
    );
    this.seenPins = seenPins;
  }
}

/** The upstream sent bytes that are not a DNS answer. */
export class ProtocolError extends DotstubError {
  constructor(target: string, detail: string) {
    super('ERR_DOTSTUB_PROTOCOL', `${target} broke the protocol: ${detail}`);
  }
}

/** No upstream could answer; `errors` holds each upstream's reason, most specific first. */
export class AllUpstreamsFailedError extends DotstubError {
  readonly errors: readonly Error[];
  constructor(errors: readonly Error[]) {
    const first = errors[0];
    super(
      'ERR_DOTSTUB_ALL_UPSTREAMS_FAILED',
      first === undefined ? 'no upstream is available' : `no upstream could answer: ${first.message}`,
      { cause: first },
    );
    this.errors = errors;
  }
}

/** A configuration value is wrong; `path` names the key, the message the accepted form. */
export class ConfigError extends DotstubError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('ERR_DOTSTUB_CONFIG', path === '' ? message : `${path}: ${message}`);
    this.path = path;
  }
}

/** A listener could not be bound (port in use, missing privilege). */
export class ListenError extends DotstubError {
  constructor(message: string, cause?: unknown) {
    super('ERR_DOTSTUB_LISTEN', message, { cause });
  }
}

/** Portal mode cannot start: no DNS server of the network is known (`portal.servers` fixes it). */
export class PortalError extends DotstubError {
  constructor(message: string) {
    super('ERR_DOTSTUB_PORTAL', message);
  }
}

/** True when the failure is about this upstream or connection, so another upstream may well succeed. */
export function isRetryable(err: unknown): boolean {
  return (
    err instanceof ConnectTimeoutError ||
    err instanceof ConnectError ||
    err instanceof ConnectionClosedError ||
    err instanceof UpstreamBusyError ||
    err instanceof AuthenticationError ||
    err instanceof ProtocolError ||
    err instanceof QueryTimeoutError
  );
}

/** A short human description of any thrown value, keeping Node's error code when there is one. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    // OpenSSL's messages carry a file path and line; its `reason` says the same thing plainly.
    const reason = (cause as { reason?: unknown }).reason;
    if (typeof reason === 'string' && code !== undefined) return `TLS error: ${reason} (${code})`;
    return code !== undefined && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}

/** Changing the machine (service files, resolver settings) failed or was refused; the message says what to do. */
export class SystemChangeError extends DotstubError {
  constructor(message: string, cause?: unknown, code = 'ERR_DOTSTUB_SYSTEM') {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}
