/** The DoT listener's counters, and the status the daemon's `listener.status` control method returns. */

export interface TlsListenerCounters {
  readonly connections: {
    /** TCP connections accepted (allowed in), handshaking or not. */
    total: number;
    /** Handshakes completed. */
    handshakes: number;
    /** Of those, resumed sessions (tickets). */
    resumed: number;
  };
  readonly refused: {
    /** Source address outside tls.allow. */
    allowList: number;
    /** The client already held maxConnectionsPerClient connections. */
    perClient: number;
    /** The listener was at tls.maxConnections. */
    capacity: number;
  };
  /** Failed handshakes by cause: timeout, reset, or OpenSSL's reason (no_shared_cipher, tlsv1_alert_unknown_ca...). */
  readonly handshakeFailures: Record<string, number>;
}

export function newTlsListenerCounters(): TlsListenerCounters {
  return {
    connections: { total: 0, handshakes: 0, resumed: 0 },
    refused: { allowList: 0, perClient: 0, capacity: 0 },
    handshakeFailures: {},
  };
}

/** A stable, short cause from Node's error code (never from message text). */
export function handshakeFailureCause(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code.startsWith('ERR_SSL_')) return code.slice('ERR_SSL_'.length).toLowerCase();
  return code === '' ? 'other' : code.toLowerCase();
}

export interface TlsListenerStatus {
  readonly address: string;
  readonly port: number;
  /** Open now. */
  readonly open: number;
  readonly connections: TlsListenerCounters['connections'];
  readonly refused: TlsListenerCounters['refused'];
  readonly handshakeFailures: Record<string, number>;
}

export interface TlsCertificateStatus {
  readonly source: 'config' | 'generated';
  readonly path: string;
  readonly subject: string;
  readonly keyType: string;
  readonly notAfter: string;
  readonly pin: string;
}

/** The shape of `listener.status` (and `Daemon.listenerStatus()`); `enabled: false` without --listen-tls. */
export interface ListenerStatus {
  readonly enabled: boolean;
  readonly listeners: readonly TlsListenerStatus[];
  /** Queries that arrived over TLS, on every listener. */
  readonly queries: number;
  readonly certificates: readonly TlsCertificateStatus[];
  readonly ticketKeyRotations: number;
  readonly ticketKeyShared: boolean;
}
