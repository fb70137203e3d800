/**
 * The TCP side of a listen address (RFC 7766: TCP is not optional), with a connection cap (RFC 9210
 * sec. 4). Each connection is a StreamClient, which the DoT listener shares.
 */
import { createServer, type Server } from 'node:net';
import type { QueryContext } from './query-handler.js';
import { listenStream } from './listen-errors.js';
import {
  DEFAULT_TCP_LIMITS,
  listenerLoad,
  StreamClient,
  type ListenerLoad,
  type TcpLimits,
} from './stream-client.js';

export { DEFAULT_TCP_LIMITS, type TcpLimits } from './stream-client.js';

export class TcpListener {
  readonly #server: Server;
  readonly #clients = new Set<StreamClient>();
  readonly #load: ListenerLoad = listenerLoad(this.#clients);
  #closed: Promise<void> | undefined;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async bind(
    host: string,
    port: number,
    ctx: QueryContext,
    limits: TcpLimits = DEFAULT_TCP_LIMITS,
  ): Promise<TcpListener> {
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    server.maxConnections = limits.maxConnections;
    const listener = new TcpListener(server);
    server.on('connection', (socket) => {
      const client = new StreamClient(socket, ctx, {
        transport: 'tcp',
        limits,
        load: listener.#load,
      });
      listener.#clients.add(client);
      socket.on('close', () => listener.#clients.delete(client));
    });
    await listenStream(server, 'tcp', host, port, ctx.logger);
    return listener;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  get connections(): number {
    return this.#clients.size;
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
    void this.close();
  }
}
