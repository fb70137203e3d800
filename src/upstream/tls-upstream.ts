/**
 * A DoT upstream (RFC 7858): a pool of long-lived, pipelined, authenticated TLS connections, shared by all
 * clients. Nothing is written before authentication passes, and nothing ever goes out in clear.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ParsedMessage } from '../dns/wire.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { RttWindow } from '../util/rtt-window.js';
import { ConnectionClosedError } from '../errors.js';
import type { AbortLike } from '../util/deadline.js';
import { sendAsPromise } from './attempt-sink.js';
import { ConnectionPool } from './connection-pool.js';
import { pinsetKey } from './spki-pin.js';
import type { SplitFrames } from './held-answer-nudge.js';
import { StreamConnection } from './stream-connection.js';
import { needsCaStore } from './tls-authenticate.js';
import { connectTls, refusedAlpn, type AuthenticatedSocket, type SessionCache } from './tls-connect.js';
import {
  countFailure,
  handshakeFailureCause,
  newTlsUpstreamCounters,
  type ConnectionStats,
  type TlsUpstreamCounters,
} from './upstream-stats.js';
import type { PrivacyLevel } from './usage-profile.js';
import {
  type AttemptSink,
  type AuthInfo,
  formatUpstream,
  type ExchangeOptions,
  type Upstream,
  type UpstreamAnswer,
  type UpstreamSpec,
} from './upstream.js';

export interface TlsUpstreamOptions {
  readonly spec: UpstreamSpec;
  /** Extra trusted CAs (PEM), added to Node's bundled roots. */
  readonly extraCa?: readonly string[];
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly stallTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxInFlightPerConnection: number;
  readonly padBlock: number;
  readonly minTlsVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** RFC 7871 sec. 7.1.2: ECS with source prefix 0 instead of the client's. @default false */
  readonly ecsPrivate?: boolean | undefined;
  /**
   * Send a fresh connection's first query again when a session ticket arrives before its answer, so our
   * ACK goes out at once (StreamConnection.nudge). Off only in tests that count the queries a server
   * receives. @default true
   */
  readonly nudgeAfterTicket?: boolean | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** One session cache for the process: sessions survive a pool's connections being recycled. */
const sessions: SessionCache = new Map();

/** The native half of a SecureContext: adds PEM certificates to the store this context verifies with. */
interface NativeContext {
  addCACert(pem: string): void;
}

export function buildSecureContext(
  extraCa: readonly string[] | undefined,
  minVersion: 'TLSv1.2' | 'TLSv1.3',
  caStore = true,
): SecureContext {
  // No CA store where none is asked: Node 20 parses its ~140 bundled roots for the first context that has
  // one (44 ms of a ~210 ms cold start here; OpenSSL 3 parses a certificate in about 0.3 ms), and adding
  // a CA file makes it parse them too. `ca: []` leaves the context's store empty and untouched.
  if (!caStore) return createSecureContext({ minVersion, ca: [] });
  // Without `ca`, the context shares Node's bundled root store (parsed once, natively). Adding the extra CAs
  // to it copies that store for this context; passing `ca: [...rootCertificates, ...extraCa]` instead
  // re-parsed all ~140 roots in JavaScript: 47 ms of a 330 ms cold start (--cpu-prof, this machine).
  const context = createSecureContext({ minVersion });
  const native = context.context as NativeContext;
  for (const pem of extraCa ?? []) native.addCACert(pem);
  return context;
}

export class TlsUpstream implements Upstream {
  readonly id: string;
  readonly spec: UpstreamSpec;
  readonly counters: TlsUpstreamCounters = newTlsUpstreamCounters();
  /** Round-trip times of the last answers on the wire (ours to the server and back). */
  readonly rtt = new RttWindow();
  readonly #stats: ConnectionStats = { counters: this.counters, rtt: this.rtt };
  readonly #pool: ConnectionPool;
  /** Whether this server takes a frame split after its first octet (held-answer-nudge.ts). */
  readonly #splitFrames: SplitFrames = { allowed: true };
  #lastAuth: AuthInfo | undefined;
  #lastFullAuth: AuthInfo | undefined;
  readonly #connectFailureListeners: ((err: unknown) => void)[] = [];

  /**
   * False once the server closed a connection on the first octet of a frame sent ahead (RFC 7766 sec. 8
   * warns some servers abort on a split frame): from then on dotstub sends it whole frames only, and
   * answers its Nagle holds wait for our next query or our delayed ACK (`dotstub status` says so).
   */
  get splitFrames(): boolean {
    return this.#splitFrames.allowed;
  }

  constructor(options: TlsUpstreamOptions) {
    this.spec = options.spec;
    this.id = formatUpstream(options.spec);
    const secureContext = buildSecureContext(
      options.extraCa,
      options.minTlsVersion ?? 'TLSv1.2',
      needsCaStore(options.spec),
    );
    const sessionKey = `${this.id}|${pinsetKey(options.spec.pins)}`;
    const logger = options.logger.child({ upstream: this.id });
    // Cleared for good once the server refuses ALPN "dot" (refusedAlpn): the next handshake goes without.
    let offerAlpn = true;
    const handshake = (): Promise<AuthenticatedSocket> =>
      connectTls({
        spec: options.spec,
        target: this.id,
        sessionKey,
        sessions,
        secureContext,
        timeoutMs: options.connectTimeoutMs,
        clock: options.clock,
        offerAlpn,
      });
    const connect = async (): Promise<StreamConnection> => {
      const { socket, auth } = await handshake()
        .catch((err: unknown) => {
          if (!offerAlpn || !refusedAlpn(err)) throw err;
          offerAlpn = false;
          logger.info('the server refuses ALPN dot; connecting without ALPN');
          return handshake();
        })
        .catch((err: unknown) => {
          // Reported even when no query waits any more (its deadline passed first): the failure is a fact.
          this.counters.handshakeFailures[handshakeFailureCause(err)]++;
          for (const listener of this.#connectFailureListeners) listener(err);
          throw err;
        });
      this.counters.connectionsOpened++;
      if (auth.resumed) this.counters.resumptions++;
      this.#lastAuth = auth;
      // A resumed session shows no certificate: keep what the last full handshake proved, for status.
      if (!auth.resumed) this.#lastFullAuth = auth;
      if (!auth.authenticated) {
        this.counters.unauthenticated++;
        logger.rateLimited(
          'warn',
          `unauthenticated:${this.id}`,
          60_000,
          'using TLS WITHOUT authentication (Opportunistic profile): encrypted, but the server is not proven to be who it claims',
          {
            cause: auth.failure,
          },
        );
      }
      logger.debug('connected', { tls: auth.tlsVersion, auth: auth.method, resumed: auth.resumed });
      const conn: StreamConnection = new StreamConnection(socket, {
        target: this.id,
        transport: 'tls',
        idleTimeoutMs: options.idleTimeoutMs,
        idleLimitMs: (configuredMs: number): number => this.#pool.idleLimitMs(conn, configuredMs),
        stallTimeoutMs: options.stallTimeoutMs,
        maxInFlight: options.maxInFlightPerConnection,
        maxPendingWriteBytes: 256 * 1024,
        padBlock: options.padBlock,
        // RFC 7828 sec. 3.2.1: ask for the server's idle timeout on TCP and TLS.
        keepalive: true,
        ecsPrivate: options.ecsPrivate,
        auth,
        splitFrames: this.#splitFrames,
        stats: this.#stats,
        clock: options.clock,
        logger,
        events: {
          closed: (conn) => {
            this.#pool.remove(conn);
          },
          settled: () => {
            this.#pool.settled();
          },
        },
      });
      // TLS 1.3 tickets come after the handshake (TLS 1.2's came within it, before this point).
      if (options.nudgeAfterTicket !== false)
        socket.on('session', () => {
          conn.nudge();
        });
      return conn;
    };
    this.#pool = new ConnectionPool({
      target: this.id,
      maxConnections: options.maxConnections,
      connect,
      onFailedWaiting: (err) => {
        countFailure(this.counters, err);
      },
    });
  }

  get privacy(): PrivacyLevel {
    return this.#lastAuth?.authenticated === false ? 'encrypted' : 'authenticated';
  }

  /** How the newest connection was set up, and what the newest full (not resumed) handshake proved. */
  get lastAuth(): AuthInfo | undefined {
    return this.#lastAuth;
  }
  get lastFullAuth(): AuthInfo | undefined {
    return this.#lastFullAuth;
  }

  /** Calls `listener` whenever a connection attempt fails (TCP, TLS or authentication). */
  onConnectFailure(listener: (err: unknown) => void): void {
    this.#connectFailureListeners.push(listener);
  }

  /** Opens (or reuses) a connection without sending a query: the Opportunistic re-upgrade probe. */
  warm(signal: AbortLike): Promise<void> {
    return this.#pool.warm(signal);
  }

  get connections(): readonly StreamConnection[] {
    return this.#pool.connections;
  }

  ready(): boolean {
    return this.#pool.hasOpen();
  }

  send(query: Buffer, msg: ParsedMessage, sink: AttemptSink): void {
    this.counters.queries++;
    // Answers, timeouts and failures are counted where they happen: the connection, or the pool's wait.
    this.#pool.dispatch(query, msg, sink);
  }

  /**
   * The promise form, for callers outside the resolver (the Opportunistic upstream's TLS side). A reused
   * connection that closes before answering (the server's idle close racing our write, RFC 7766 sec.
   * 6.2.4) earns one retry; the resolver does the same for send() itself.
   */
  async exchange(query: Buffer, msg: ParsedMessage, options: ExchangeOptions): Promise<UpstreamAnswer> {
    const once = (): Promise<UpstreamAnswer> =>
      sendAsPromise((sink) => {
        this.send(query, msg, sink);
      }, options.signal);
    try {
      return await once();
    } catch (err) {
      if (!(err instanceof ConnectionClosedError) || !err.reused || options.signal.aborted) throw err;
      return once();
    }
  }

  /** Drops stale connections (wake from sleep, network change); the next query connects afresh. */
  resetConnections(): void {
    this.#pool.resetConnections();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  destroy(err?: Error): void {
    this.#pool.destroy(err);
  }
}
