/** The one interface every upstream transport implements (dnsproxy `upstream/` style), and its spec. */
import type { ParsedMessage } from '../dns/wire.js';
import type { AuthFailureReason } from '../errors.js';
import type { AbortLike } from '../util/deadline.js';
import type { PrivacyLevel, UsageProfile } from './usage-profile.js';
import { bracketed } from '../util/ip-literal.js';

export const DOT_PORT = 853;

/** Where an upstream is and how it is authenticated (RFC 8310 sec. 6.6: IP plus ADN and/or SPKI pinset). */
export interface UpstreamSpec {
  /** An IP literal: dotstub never needs a bootstrap lookup (RFC 8310 sec. 7.1, full direct configuration). */
  readonly address: string;
  readonly port: number;
  /** The authentication domain name, checked against the certificate and sent as SNI. */
  readonly authName?: string | undefined;
  /** pin-sha256 values (bare base64), any of which may match the validated chain. */
  readonly pins: readonly string[];
  /** RFC 8310 usage profile. @default 'strict' */
  readonly profile?: UsageProfile | undefined;
  /** The clear-text DNS port used by the Opportunistic fallback. @default 53 */
  readonly clearPort?: number | undefined;
  /**
   * With pins and a name: a matching pin stands in for the CA, so the certificate must be for the name but
   * need not chain to a trusted CA (getdns_query's way, used by `dotstub query`). @default false: the name
   * through a trusted CA and a pin, both.
   */
  readonly pinIsTrustAnchor?: boolean | undefined;
}

export type UpstreamTransport = 'tls' | 'udp' | 'tcp';

/** How the TLS identity of the upstream was established, for logs, status and `dotstub query`. */
export interface AuthInfo {
  /** False only in the Opportunistic profile: encrypted, but the server's identity is not proven. */
  readonly authenticated: boolean;
  readonly method: 'pin' | 'name' | 'pin+name' | 'none';
  /** Why authentication failed, when it was tolerated (Opportunistic). */
  readonly failure?: AuthFailureReason | undefined;
  /** True when the session was resumed from one that authenticated earlier (no certificate is sent then). */
  readonly resumed: boolean;
  readonly pinDepth?: number | undefined;
  readonly pinSubject?: string | undefined;
  readonly tlsVersion: string;
  readonly cipher: string;
}

export interface UpstreamAnswer {
  /** The upstream's answer as it arrived, with our ID: the resolver restores the client's. */
  readonly answer: Buffer;
  readonly msg: ParsedMessage;
  readonly transport: UpstreamTransport;
  readonly auth?: AuthInfo | undefined;
  /**
   * Clock milliseconds when it was read, where the upstream noted it (a stream connection reads the clock
   * once per TCP read): the resolver and the cache take it rather than read the clock again. Each read
   * was about 100 instructions (Node 20's performance.now() checks its receiver's brand), six a query.
   */
  readonly receivedAt?: number | undefined;
}

/**
 * Where one attempt's outcome goes: the callback form of exchange(), for the forwarding path. It is also
 * the attempt's deadline (AbortLike). The profile of the daemon under load had about one promise and two
 * microtasks per layer per query (listener, cache, resolver, upstream, pool, connection); callbacks cost one
 * call each.
 */
export interface AttemptSink extends AbortLike {
  answered(answer: UpstreamAnswer): void;
  /** Called at most once, and never after answered(). */
  failed(err: Error): void;
}

export interface ExchangeOptions {
  /** The attempt's deadline: an AbortSignal, or the resolver's Attempt (src/resolver/attempt.ts). */
  readonly signal: AbortLike;
}

export interface Upstream {
  /** A stable label such as `9.9.9.9#853~dns.quad9.net`, used in logs and status. */
  readonly id: string;
  readonly spec: UpstreamSpec;
  /** How private this upstream's answers are right now (the resolver prefers the most private). */
  readonly privacy: PrivacyLevel;
  /** Sends the client's query (raw bytes and its parse) and resolves with the matching answer. */
  exchange(query: Buffer, msg: ParsedMessage, options: ExchangeOptions): Promise<UpstreamAnswer>;
  /** The same as exchange(), delivered to `sink`: upstreams on the hot path implement it. */
  send?(query: Buffer, msg: ParsedMessage, sink: AttemptSink): void;
  /**
   * False while no connection is up to take a query (none is open, or one is still being set up): a query
   * sent now waits on a connect, so the resolver asks the next upstream too after a short wait
   * (resolver/hedge.ts). Absent for upstreams that need no connection (UDP).
   */
  ready?(): boolean;
  /** Opens (or reuses) a connection without sending a query: a probe, or a connection made ahead of queries. */
  warm?(signal: AbortLike): Promise<void>;
  /** Calls `listener` whenever a connection attempt fails, whether or not a query waited for it. */
  onConnectFailure?(listener: (err: unknown) => void): void;
  /** Stops taking queries, lets those in flight finish, then closes. Idempotent. */
  close(): Promise<void>;
  /** Fails everything in flight now. Idempotent. */
  destroy(err?: Error): void;
  /** Drops pooled connections without closing the upstream (wake from sleep, network change). */
  resetConnections?(): void;
}

export function formatUpstream(spec: UpstreamSpec): string {
  const host = bracketed(spec.address);
  return `${host}#${spec.port}${spec.authName === undefined ? '' : `~${spec.authName}`}`;
}
