/**
 * The shape of the `status` control method's answer: one JSON object, versioned so that a CLI can tell a
 * daemon it does not understand. Types only (the daemon builds it in src/server/status-snapshot.ts, the CLI
 * prints it), so `dotstub status` loads none of the daemon's modules.
 *
 * Bump STATUS_VERSION only for changes that break readers (a field removed or changing meaning); new fields
 * and new sections do not need it.
 */
export const STATUS_VERSION = 1;

/**
 * - `connected`: at least one TLS connection is open.
 * - `idle`: healthy, no connection open (the next query opens one).
 * - `backing-off`: skipped until `backoff.until` after failures (`lastError` says which).
 * - `probing`: one query or probe is testing it after a backoff.
 * - `clear`: Opportunistic, TLS could not be set up: answering in clear text until a probe succeeds.
 */
export type UpstreamState = 'connected' | 'idle' | 'backing-off' | 'probing' | 'clear';

export interface RttStatus {
  /** Answers in the window (the last 256 at most). */
  readonly count: number;
  readonly avgMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

export interface AuthStatus {
  readonly authenticated: boolean;
  /** 'pin', 'name', 'pin+name', or 'none' (Opportunistic, identity not proven). */
  readonly method: string;
  /** Why authentication failed, when Opportunistic went on without it. */
  readonly failure: string | null;
  readonly resumed: boolean;
  /** Position in the chain of the certificate whose key matched a pin (0 = the server's own). */
  readonly pinDepth: number | null;
  readonly pinSubject: string | null;
  readonly tlsVersion: string;
  readonly cipher: string;
}

export interface UpstreamStatus {
  /** The upstream's full label, e.g. `9.9.9.9#853~dns.quad9.net`. */
  readonly id: string;
  /** `IP#PORT`, the Prometheus label. */
  readonly address: string;
  /** `tls` (DoT, maybe with an Opportunistic clear fallback) or `fallback` (a configured clear server). */
  readonly kind: 'tls' | 'fallback';
  readonly profile: 'strict' | 'opportunistic' | null;
  readonly authName: string | null;
  readonly state: UpstreamState;
  /** Set while backing off: until when (wall clock, ISO 8601), how long still, and how many backoffs in a row. */
  readonly backoff: { readonly until: string; readonly inMs: number; readonly count: number } | null;
  /** The failure that put it in its state (kept after recovery, for the record). */
  readonly lastError: { readonly cause: string; readonly message: string } | null;
  /** Opportunistic in clear text: when the next TLS probe is due. */
  readonly nextProbeInMs: number | null;
  readonly openConnections: number;
  readonly inFlight: number;
  /** The newest connection's TLS and authentication. */
  readonly auth: AuthStatus | null;
  /** What the newest full handshake proved (a resumed session shows no certificate). */
  readonly verified: AuthStatus | null;
  /** The server's RFC 7828 idle timeout, as it last said. */
  readonly keepaliveMs: number | null;
  /** True once an answer carried RFC 7830 padding. */
  readonly padded: boolean;
  /**
   * Whether dotstub may send the first octet of a frame ahead to free an answer the server holds (the
   * held-answer nudge): false once the server closed a connection on one; null for a clear fallback.
   */
  readonly splitFrames: boolean | null;
  readonly rtt: RttStatus | null;
  readonly lastAnswerAgoMs: number | null;
  /** Monotonic counters since start; the names are listed in docs (README, `dotstub status`). */
  readonly counters: Readonly<Record<string, number>>;
  /** TLS setup failures by cause: pin-mismatch, name-mismatch, expired, untrusted, timeout, refused, ... */
  readonly handshakeFailures: Readonly<Record<string, number>>;
}

export interface GlobalStatus {
  /** Client queries by the transport they came in on (udp, tcp; later tls). */
  readonly queries: Readonly<Record<string, number>>;
  /** Upstream answers by how they came: `tls` or `clear`. */
  readonly answersByTransport: Readonly<Record<string, number>>;
  /** Answers sent to clients by RCODE name (NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, other). */
  readonly rcodes: Readonly<Record<string, number>>;
  /** SERVFAILs dotstub made itself (no upstream could answer, or too many queries outstanding). */
  readonly servfailLocal: number;
  readonly overloaded: number;
  readonly dropped: number;
  readonly truncated: number;
  /** Times the UDP listeners stopped reading, with 256 queries in flight upstream (backpressure). */
  readonly udpReadPauses: number;
  /** Opportunistic upstreams that went to clear text, and back to TLS. */
  readonly downgrades: number;
  readonly upgrades: number;
  readonly outstanding: number;
  readonly outstandingPeak: number;
  readonly memory: {
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
    readonly heapTotalBytes: number;
    readonly externalBytes: number;
  };
}

export interface StatusSnapshot {
  readonly version: typeof STATUS_VERSION;
  /** When the daemon made it (wall clock, ISO 8601). */
  readonly generatedAt: string;
  readonly daemon: {
    readonly version: string;
    readonly pid: number;
    readonly uptimeMs: number;
    readonly node: string;
    readonly listen: readonly string[];
    readonly strategy: string;
  };
  readonly global: GlobalStatus;
  readonly upstreams: readonly UpstreamStatus[];
  /** Sections other features add (cache, DoT listener, network...), by name: see Daemon.statusSections. */
  readonly sections: Readonly<Record<string, unknown>>;
}
