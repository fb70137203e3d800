/**
 * The embedded configuration: what `dotstub run` does with no options. Public resolvers, authenticated by
 * name (Strict, RFC 8310 sec. 5), listening on loopback port 53 for UDP and TCP.
 */
import type { UpstreamSpec } from '../upstream/upstream.js';
import type { HostPort } from './addresses.js';

export const DEFAULT_LISTEN: readonly HostPort[] = [
  { host: '127.0.0.1', port: 53 },
  { host: '::1', port: 53 },
];

const quad9 = (address: string): UpstreamSpec => ({
  address,
  port: 853,
  authName: 'dns.quad9.net',
  pins: [],
});
const cloudflare = (address: string): UpstreamSpec => ({
  address,
  port: 853,
  authName: 'cloudflare-dns.com',
  pins: [],
});

/** Quad9 and Cloudflare, IPv4 and IPv6, by name. */
export const DEFAULT_UPSTREAMS: readonly UpstreamSpec[] = [
  quad9('9.9.9.9'),
  quad9('149.112.112.112'),
  quad9('2620:fe::fe'),
  cloudflare('1.1.1.1'),
  cloudflare('1.0.0.1'),
  cloudflare('2606:4700:4700::1111'),
];

export const DEFAULTS = {
  /** End-to-end deadline of one query in ms (stubby's `timeout`). */
  timeoutMs: 5000,
  /** Idle TLS connections close after this many ms, or sooner if the server's keepalive says so (stubby uses 10000). */
  idleTimeoutMs: 10_000,
  /** TCP connect plus TLS handshake, in ms. */
  connectTimeoutMs: 3000,
  /** RFC 8467 sec. 4.1: pad queries to a multiple of 128 octets; 0 turns padding off. */
  paddingBlockSize: 128,
  /** Queries in progress before new ones get SERVFAIL at once (stubby's limit_outstanding_queries). */
  maxOutstanding: 4096,
  /** Pipelined TLS connections per upstream: one at idle, more only under load. */
  maxConnectionsPerUpstream: 3,
  /**
   * Queries in flight on one connection before another opens (RFC 7766 sec. 6.2.2: as few connections as
   * possible). 100 opened a second connection at 5,000 q/s against a loopback unbound whose DoT answers
   * take up to 10 ms; at 256 the bench keeps one at 2,000 and 10,000 q/s (a second only in runs where
   * dotstub saturated at 10,000 and answers queued for tens of ms), two or three at the maximum.
   */
  maxInFlightPerConnection: 256,
  selection: 'round-robin',
  logLevel: 'info',
  /** Backoff of a failing upstream: first delay and cap, ms (stubby's tls_backoff_time is 3600 s; a laptop wants far less). */
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
  /** Soft failures in a row (timeouts, dropped connections) before backing off (stubby's tls_connection_retries). */
  connectionRetries: 2,
} as const;
