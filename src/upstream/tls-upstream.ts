/**
 * A DoT upstream (RFC 7858): a pool of long-lived, pipelined, authenticated TLS connections, shared by all
 * clients. Nothing is written before authentication passes, and nothing ever goes out in clear.
 */
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { ParsedMessage } from '../dns/wire.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ConnectionPool } from './connection-pool.js';
import { pinsetKey } from './spki-pin.js';
import { StreamConnection } from './stream-connection.js';
import { connectTls, type SessionCache } from './tls-connect.js';
import type { PrivacyLevel } from './usage-profile.js';
import {
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
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface TlsUpstreamCounters {
  connectionsOpened: number;
  resumptions: number;
  /** Connections used without authentication (Opportunistic only). */
  unauthenticated: number;
  unmatchedAnswers: number;
  queries: number;
  answers: number;
}

/** One session cache for the process: sessions survive a pool's connections being recycled. */
const sessions: SessionCache = new Map();

export function buildSecureContext(
  extraCa: readonly string[] | undefined,
  minVersion: 'TLSv1.2' | 'TLSv1.3',
): SecureContext {
  const ca = extraCa === undefined || extraCa.length === 0 ? undefined : [...rootCertificates, ...extraCa];
  return createSecureContext({ minVersion, ...(ca === undefined ? {} : { ca }) });
}

export class TlsUpstream implements Upstream {
  readonly id: string;
  readonly spec: UpstreamSpec;
  readonly counters: TlsUpstreamCounters = {
    connectionsOpened: 0,
    unauthenticated: 0,
    resumptions: 0,
    unmatchedAnswers: 0,
    queries: 0,
    answers: 0,
  };
  readonly #pool: ConnectionPool;
  #lastAuth: AuthInfo | undefined;
  readonly #connectFailureListeners: ((err: unknown) => void)[] = [];

  constructor(options: TlsUpstreamOptions) {
    this.spec = options.spec;
    this.id = formatUpstream(options.spec);
    const secureContext = buildSecureContext(options.extraCa, options.minTlsVersion ?? 'TLSv1.2');
    const sessionKey = `${this.id}|${pinsetKey(options.spec.pins)}`;
    const logger = options.logger.child({ upstream: this.id });
    const connect = async (): Promise<StreamConnection> => {
      const { socket, auth } = await connectTls({
        spec: options.spec,
        target: this.id,
        sessionKey,
        sessions,
        secureContext,
        timeoutMs: options.connectTimeoutMs,
        clock: options.clock,
      }).catch((err: unknown) => {
        // Reported even when no query waits any more (its deadline passed first): the failure is a fact.
        for (const listener of this.#connectFailureListeners) listener(err);
        throw err;
      });
      this.counters.connectionsOpened++;
      if (auth.resumed) this.counters.resumptions++;
      this.#lastAuth = auth;
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
      return new StreamConnection(socket, {
        target: this.id,
        transport: 'tls',
        idleTimeoutMs: options.idleTimeoutMs,
        stallTimeoutMs: options.stallTimeoutMs,
        maxInFlight: options.maxInFlightPerConnection,
        maxPendingWriteBytes: 256 * 1024,
        padBlock: options.padBlock,
        // RFC 7828 sec. 3.2.1: ask for the server's idle timeout on TCP and TLS.
        keepalive: true,
        ecsPrivate: options.ecsPrivate,
        auth,
        clock: options.clock,
        logger,
        events: {
          unmatched: () => {
            this.counters.unmatchedAnswers++;
          },
          closed: (conn) => {
            this.#pool.remove(conn);
          },
        },
      });
    };
    this.#pool = new ConnectionPool({ target: this.id, maxConnections: options.maxConnections, connect });
  }

  get privacy(): PrivacyLevel {
    return this.#lastAuth?.authenticated === false ? 'encrypted' : 'authenticated';
  }

  /** Calls `listener` whenever a connection attempt fails (TCP, TLS or authentication). */
  onConnectFailure(listener: (err: unknown) => void): void {
    this.#connectFailureListeners.push(listener);
  }

  /** Opens (or reuses) a connection without sending a query: the Opportunistic re-upgrade probe. */
  warm(signal: AbortSignal): Promise<void> {
    return this.#pool.warm(signal);
  }

  get connections(): readonly StreamConnection[] {
    return this.#pool.connections;
  }

  async exchange(query: Buffer, msg: ParsedMessage, options: ExchangeOptions): Promise<UpstreamAnswer> {
    this.counters.queries++;
    const answer = await this.#pool.exchange(query, msg, options.signal);
    this.counters.answers++;
    return answer;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  destroy(err?: Error): void {
    this.#pool.destroy(err);
  }
}
