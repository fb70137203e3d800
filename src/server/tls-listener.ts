/**
 * A DNS-over-TLS listener (RFC 7858 as a server). A plain net.Server accepts the TCP connection and checks
 * the allow-list, the connection cap and the per-client cap before a TLS byte is read (a refused client
 * costs no handshake); accepted sockets go to a tls.Server that never listens itself. After the
 * handshake, the connection is a StreamClient, exactly as on the TCP listener, with keepalive and padding
 * added to answers that asked for them.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { describeCause } from '../errors.js';
import type { AllowList } from './allow-list.js';
import { listenStream } from './listen-errors.js';
import type { QueryContext } from './query-handler.js';
import { listenerLoad, StreamClient, type ListenerLoad, type TcpLimits } from './stream-client.js';
import { finishTlsAnswer } from './tls-answer.js';
import { handshakeFailureCause, newTlsListenerCounters, type TlsListenerCounters } from './tls-status.js';

export interface TlsListenerOptions {
  /** PEM certificate (chain) and key pairs; with several (RSA and ECDSA), OpenSSL picks by the client's signature algorithms. */
  readonly certs: readonly { readonly cert: string; readonly key: string }[];
  /** Block size for answers to padded queries (RFC 8467 sec. 4.1: 468); 0 = off. */
  readonly padBlock: number;
  readonly allow: AllowList;
  readonly limits: TcpLimits;
  /** Connections one client address may hold at once. @default 32 */
  readonly maxConnectionsPerClient: number;
  /** The session ticket key to start with (48 bytes), so no ticket is issued under another. */
  readonly ticketKey?: Buffer | undefined;
}

export class TlsListener {
  readonly #server: Server;
  readonly #tls: TlsServer;
  readonly #clients = new Set<StreamClient>();
  readonly #load: ListenerLoad = listenerLoad(this.#clients);
  readonly #sockets = new Set<Socket>();
  readonly #perClient = new Map<string, number>();
  readonly counters: TlsListenerCounters = newTlsListenerCounters();
  readonly host: string;
  #closed: Promise<void> | undefined;

  private constructor(host: string, server: Server, tls: TlsServer) {
    this.host = host;
    this.#server = server;
    this.#tls = tls;
  }

  static async bind(
    host: string,
    port: number,
    ctx: QueryContext,
    options: TlsListenerOptions,
  ): Promise<TlsListener> {
    const { limits } = options;
    const tls = createTlsServer({
      key: options.certs.map((c) => c.key),
      cert: options.certs.map((c) => c.cert),
      minVersion: 'TLSv1.2',
      ...(options.ticketKey === undefined ? {} : { ticketKeys: options.ticketKey }),
      // Node derives the default from process.argv, so instances started differently would refuse each
      // other's tickets even with a shared ticket secret.
      sessionIdContext: 'dotstub-dot',
      // A silent or slow client gets as long for the whole handshake as for one frame.
      handshakeTimeout: limits.partialFrameTimeoutMs,
      allowHalfOpen: true,
      // RFC 7858 needs no ALPN; a client offering "dot" gets it, one offering only others is refused.
      ALPNCallback: ({ protocols }) => (protocols.includes('dot') ? 'dot' : undefined),
    });
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    server.maxConnections = limits.maxConnections;
    const listener = new TlsListener(host, server, tls);
    server.on('connection', (socket) => {
      listener.#accept(socket, options);
    });
    server.on('drop', () => {
      listener.counters.refused.capacity++;
    });
    tls.on('secureConnection', (socket: TLSSocket) => {
      listener.#serve(socket, ctx, options);
    });
    tls.on('tlsClientError', (err, socket) => {
      // With a listener for this event, Node leaves the socket open (a handshake timeout included).
      socket.destroy();
      const cause = handshakeFailureCause(err);
      listener.counters.handshakeFailures[cause] = (listener.counters.handshakeFailures[cause] ?? 0) + 1;
      ctx.logger.debug('TLS handshake failed', { cause: describeCause(err) });
    });
    await listenStream(server, 'tls', host, port, ctx.logger);
    return listener;
  }

  #accept(socket: Socket, options: TlsListenerOptions): void {
    const address = socket.remoteAddress ?? '';
    if (!options.allow.allows(address)) {
      this.counters.refused.allowList++;
      socket.destroy();
      return;
    }
    const held = this.#perClient.get(address) ?? 0;
    if (held >= options.maxConnectionsPerClient) {
      this.counters.refused.perClient++;
      socket.destroy();
      return;
    }
    this.#perClient.set(address, held + 1);
    this.#sockets.add(socket);
    this.counters.connections.total++;
    socket.on('close', () => {
      this.#sockets.delete(socket);
      const left = (this.#perClient.get(address) ?? 1) - 1;
      if (left > 0) this.#perClient.set(address, left);
      else this.#perClient.delete(address);
    });
    this.#tls.emit('connection', socket);
  }

  #serve(socket: TLSSocket, ctx: QueryContext, options: TlsListenerOptions): void {
    this.counters.connections.handshakes++;
    if (socket.isSessionReused()) this.counters.connections.resumed++;
    const client = new StreamClient(socket, ctx, {
      transport: 'tls',
      limits: options.limits,
      load: this.#load,
      finish: (answer, query) =>
        finishTlsAnswer(answer, query, {
          padBlock: options.padBlock,
          idleTimeoutMs: options.limits.idleTimeoutMs,
        }),
    });
    this.#clients.add(client);
    socket.on('close', () => this.#clients.delete(client));
    // A handshake that finishes while the listener closes: nothing is in flight yet, so it ends at once.
    if (this.#closed !== undefined) client.close();
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Connections accepted and not yet closed, handshaking or not. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Replaces the session ticket key (see ticket-keys.ts). */
  setTicketKey(key: Buffer): void {
    this.#tls.setTicketKeys(key);
  }

  /** Stops accepting; each client gets the answers in flight, then its connection closes. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      for (const client of this.#clients) client.close();
    });
    return this.#closed;
  }

  destroy(): void {
    for (const client of this.#clients) client.destroy();
    for (const socket of this.#sockets) socket.destroy();
    void this.close();
  }
}
