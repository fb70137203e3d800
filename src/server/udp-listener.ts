/** The UDP side of a listen address: one datagram in, one answer out, truncated to the client's size. */
import { createSocket, type Socket } from 'node:dgram';
import { describeCause } from '../errors.js';
import { handleQuery, type QueryContext, type Replier } from './query-handler.js';
import { listenError } from './listen-errors.js';
import { isV6Address } from '../util/ip-literal.js';
import type { ReadSwitch } from './udp-read-gate.js';

/**
 * The socket's receive buffer. Linux's default (rmem_default, 208 KiB here) holds about 270 small queries
 * with the kernel's per-datagram overhead: a 30 ms pause of the event loop (a major collection, a TLS
 * handshake) at 10,000 q/s overflowed it and queries were dropped unseen (the client then waits seconds to
 * retry). 2 MiB holds a few thousand: bench, 700 lost at 10,000 q/s and about 250 at the maximum before,
 * none after; 4 MiB only turned overload into 100 ms of queueing. The kernel caps it at
 * net.core.rmem_max, and it costs memory only while datagrams wait.
 */
const RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * dgram's lookup for every send. Answers go to the address a query came from, always an IP literal, so the
 * default (dns.lookup, which checks for a literal and defers its callback to the next tick) is only cost:
 * this hands the literal straight back and the datagram leaves within send().
 */
function literalAddress(
  address: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  // Node 20 passes the family as a number, the typings an options object: the literal says which it is.
  callback(null, address, isV6Address(address) ? 6 : 4);
}

export class UdpListener {
  readonly #ctx: QueryContext;
  readonly #socket: Socket;
  #inFlight = 0;
  #closing = false;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;
  /** This socket's part in the daemon's read gate (udp-read-gate.ts), if it has one. */
  readonly #switch: ReadSwitch | undefined;

  private constructor(socket: Socket, ctx: QueryContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#switch = ctx.udpGate?.add(socket);
    this.#replier = {
      transport: 'udp',
      ctx,
      replied: (answer, _raw, port, address) => {
        if (answer !== undefined) this.#send(answer, port, address);
        this.#done();
      },
    };
    socket.on('message', (msg, rinfo) => {
      this.#onMessage(msg, rinfo.address, rinfo.port);
    });
    socket.on('error', (err) => {
      ctx.logger.rateLimited('warn', 'udp-error', 10_000, 'UDP socket error', { cause: describeCause(err) });
    });
  }

  static async bind(host: string, port: number, ctx: QueryContext): Promise<UdpListener> {
    const socket = createSocket({
      type: isV6Address(host) ? 'udp6' : 'udp4',
      ipv6Only: isV6Address(host),
      lookup: literalAddress,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        reject(listenError(err, 'udp', host, port));
      });
      socket.bind({ address: host, port, exclusive: true }, () => {
        resolve();
      });
    });
    socket.removeAllListeners('error');
    try {
      socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch (err) {
      // A platform limit below it (macOS kern.ipc.maxsockbuf, say): the default buffer still works.
      ctx.logger.debug('kept the default UDP receive buffer', { cause: describeCause(err) });
    }
    return new UdpListener(socket, ctx);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** The receive buffer the kernel granted (Linux reports twice the bytes set, for its bookkeeping). */
  get receiveBufferBytes(): number {
    return this.#socket.getRecvBufferSize();
  }

  /** The listener's one replier: each answer goes back to the port and address its query came from. */
  readonly #replier: Replier;

  #onMessage(msg: Buffer, address: string, port: number): void {
    if (this.#closing) return;
    this.#inFlight++;
    try {
      handleQuery(msg, this.#replier, port, address);
    } catch (err) {
      this.#failed(err);
    }
    this.#ctx.udpGate?.afterQuery();
  }

  /**
   * No send callback: with one, Node queues a send request and calls back into JavaScript for each
   * datagram; without, it tries the send at once (uv_udp_try_send) and queues only what would block.
   * close() waits for that queue to empty, so an answer is still never cut off.
   */
  #send(answer: Buffer, port: number, address: string): void {
    try {
      this.#socket.send(answer, port, address);
    } catch (err) {
      this.#ctx.logger.error('failed to send a UDP answer', { cause: describeCause(err) });
    }
  }

  #failed(err: unknown): void {
    this.#ctx.logger.error('failed to answer a UDP query', { cause: describeCause(err) });
    this.#done();
  }

  #done(): void {
    if (--this.#inFlight === 0) this.#drained?.();
  }

  /** Stops reading, answers what is in flight, then closes. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    if (this.#switch !== undefined) this.#ctx.udpGate?.remove(this.#switch);
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    // Answers the kernel would not take at once wait in Node's send queue: let them go (for a second at most).
    for (let waited = 0; this.#socket.getSendQueueCount() > 0 && waited < 1000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise<void>((resolve) => {
      this.#socket.close(() => {
        resolve();
      });
    });
  }
}
