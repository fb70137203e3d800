/**
 * One stream client connection, clear TCP or TLS (RFC 7858 sec. 3.3: DoT is TCP framing over TLS). Clients
 * may pipeline; answers go back as they complete, in any order (RFC 7766 sec. 6.2.1.1). RFC 9210 sec. 4
 * protections: idle and partial-frame timeouts, a per-client in-flight cap, and a cap on unread output.
 */
import type { Socket } from 'node:net';
import { describeCause } from '../errors.js';
import { encodeFrame, FrameQueue } from '../dns/length-prefix.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { handleQuery, type QueryContext, type Replier } from './query-handler.js';

export interface TcpLimits {
  /** @default 256 */
  readonly maxConnections: number;
  /** Close a connection with nothing in flight after this long (RFC 7766 sec. 6.2.3). @default 10000 */
  readonly idleTimeoutMs: number;
  /** A started frame must be complete within this time (slowloris). @default 5000 */
  readonly partialFrameTimeoutMs: number;
  /** Queries of one connection in progress at once; past it, reading pauses. @default 128 */
  readonly maxInFlightPerClient: number;
  /** Unread answer bytes after which a client that does not read is cut off. @default 1 MiB */
  readonly maxPendingOutputBytes: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxConnections: 256,
  idleTimeoutMs: 10_000,
  partialFrameTimeoutMs: 5_000,
  maxInFlightPerClient: 128,
  maxPendingOutputBytes: 1024 * 1024,
};

/** Queries in progress for all the clients of one listener, past which each keeps only MIN_IN_FLIGHT. */
const LISTENER_IN_FLIGHT_BUDGET = 256;
/** What one client may always have in progress, however busy the others are. */
const MIN_IN_FLIGHT = 8;

/** The clients of one listener: how many, and their queries in progress. */
export interface ListenerLoad {
  readonly clients: number;
  inFlight: number;
}

/** A listener's load, counting the clients in its set. */
export function listenerLoad(clients: { readonly size: number }): ListenerLoad {
  return {
    inFlight: 0,
    get clients() {
      return clients.size;
    },
  };
}

/**
 * Whether a client with `own` queries in progress may start another. Its cap is its share of the
 * listener's 256 (all of maxInFlightPerClient while one or two are connected, 8 at least), and past its
 * first 8 it starts more only while the listener has fewer than 256 in progress: at most 256 + 8 per
 * client, and 256 once every client holds its share. Reading less leaves the rest in the clients' kernel
 * buffers (TCP flow control); a client over 8 is woken by its own answers, so none waits on another's.
 *
 * Why so few: pipelining clients had filled the resolver's whole outstanding limit (4,096) under dnsperf
 * -m tcp -c 32 -q 4000: 3,000 queries waiting, answered after dnsperf gave up. A budget of 512 (16 each)
 * fixed that, but with 500 in flight at the maximum each query outlived two scavenges and was promoted
 * (--trace-gc-nvp at -m tcp -c 4 -q 500: 72 KB promoted per scavenge, 137 KB at -c 32 -q 4000); 256, as
 * for the UDP listeners (udp-read-gate.ts), with the waiting frames kept as bytes (FrameQueue): 0.7 and 9
 * KB. Through the bench's TCP search sequence, alternating: peak RSS after -c 4 -q 500 68.7 against 73.7-
 * 74.0 MiB (at -c 32 -q 4000 76-77 either way: the C heap's growth there is not the JavaScript heap's),
 * CPU per query at the maximum 7.9-8.7 against 9.1-10.9 µs, 85-89k against 72-84k q/s.
 */
export function mayStart(limits: TcpLimits, own: number, load: ListenerLoad | undefined): boolean {
  if (load === undefined) return own < limits.maxInFlightPerClient;
  const share = Math.max(MIN_IN_FLIGHT, Math.floor(LISTENER_IN_FLIGHT_BUDGET / Math.max(1, load.clients)));
  if (own >= Math.min(limits.maxInFlightPerClient, share)) return false;
  return own < MIN_IN_FLIGHT || load.inFlight < LISTENER_IN_FLIGHT_BUDGET;
}

export interface StreamClientOptions {
  readonly transport: 'tcp' | 'tls';
  readonly limits: TcpLimits;
  /** The listener's count of queries in progress, shared by its clients. */
  readonly load?: ListenerLoad | undefined;
  /** Rewrites an answer before it is framed (the TLS listener adds keepalive and padding). */
  readonly finish?: ((answer: Buffer, query: Buffer) => Buffer) | undefined;
}

/** One client connection: framing, pipelining, limits and timers; the socket may be clear TCP or TLS. */
export class StreamClient {
  readonly #socket: Socket;
  readonly #ctx: QueryContext;
  readonly #limits: TcpLimits;
  readonly #options: StreamClientOptions;
  readonly #label: string;
  /** What the client sent and we have not started: whole frames that wait their turn, and a partial one. */
  readonly #frames = new FrameQueue();
  #inFlight = 0;
  #ended = false;
  #corked = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #frameStartedAt = 0;
  /** The connection's one replier (query-handler.ts): no closure per query. */
  readonly #replier: Replier;

  constructor(socket: Socket, ctx: QueryContext, options: StreamClientOptions) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#limits = options.limits;
    this.#options = options;
    this.#replier = {
      transport: options.transport,
      ctx,
      replied: (answer, frame) => {
        const { finish } = options;
        this.#write(answer === undefined || finish === undefined ? answer : finish(answer, frame));
        this.#settled();
      },
    };
    this.#label = options.transport.toUpperCase();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    // The client is done sending; answer what it asked, then close (allowHalfOpen keeps our side open).
    socket.on('end', () => {
      this.#ended = true;
      this.#maybeFinish();
    });
    socket.on('error', () => {
      socket.destroy();
    });
    socket.on('close', () => {
      this.#clearTimer();
    });
    this.#arm();
  }

  #onData(chunk: Buffer): void {
    const before = this.#frames.pending;
    this.#frames.feed(chunk);
    const started = this.#drain();
    // The chunk completed a frame (started, or waiting for this client's share) or began the first: any
    // partial frame left now began with it.
    if (before === 0 || started > 0 || this.#frames.ready) this.#frameStartedAt = Date.now();
    this.#arm();
  }

  /**
   * Starts waiting queries up to this client's share and returns how many; reading pauses while whole
   * frames wait, so what a client pipelines beyond its share stays in its TCP buffers (flow control), and
   * what was read stays bytes until it starts.
   */
  #drain(): number {
    const { load } = this.#options;
    let started = 0;
    while (mayStart(this.#limits, this.#inFlight, load) && !this.#socket.destroyed) {
      const frame = this.#frames.next();
      if (frame === undefined) break;
      // RFC 9210 sec. 4: a frame too short for a header is not DNS; drop just this client.
      if (frame.length < HEADER_LENGTH) {
        this.#socket.destroy();
        break;
      }
      started++;
      this.#query(frame);
    }
    if (this.#socket.destroyed) return started;
    if (this.#frames.ready) this.#socket.pause();
    else this.#socket.resume();
    return started;
  }

  #query(frame: Buffer): void {
    this.#inFlight++;
    if (this.#options.load !== undefined) this.#options.load.inFlight++;
    try {
      handleQuery(frame, this.#replier);
    } catch (err) {
      this.#ctx.logger.error(`failed to answer a ${this.#label} query`, { cause: describeCause(err) });
      this.#settled();
    }
  }

  #settled(): void {
    this.#inFlight--;
    if (this.#options.load !== undefined) this.#options.load.inFlight--;
    this.#drain();
    this.#arm();
    this.#maybeFinish();
  }

  #write(answer: Buffer | undefined): void {
    // RFC 7766 sec. 6.2.4: never write after the client closed.
    if (answer === undefined || this.#socket.destroyed || !this.#socket.writable) return;
    // Answers of one event-loop turn leave in one write (one syscall, and one TLS record batch): the
    // profile of the TCP bench had a write per answer (RFC 7766 sec. 8 asks for few, full segments).
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      setImmediate(this.#uncork);
    }
    this.#socket.write(encodeFrame(answer));
    if (this.#socket.writableLength > this.#limits.maxPendingOutputBytes) {
      this.#ctx.logger.rateLimited(
        'warn',
        `${this.#options.transport}-unread`,
        10_000,
        `closed a ${this.#label} client that does not read its answers`,
      );
      this.#socket.destroy();
    }
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  #maybeFinish(): void {
    if (this.#ended && this.#inFlight === 0 && !this.#frames.ready && !this.#socket.destroyed)
      this.#socket.end();
  }

  /** One timer: a partial frame must finish in time; with nothing in flight, an idle client is closed. */
  #arm(): void {
    this.#clearTimer();
    // While queries run or whole frames wait, reading is paused by us, not slowed by the client.
    if (this.#socket.destroyed || this.#inFlight > 0 || this.#frames.ready) return;
    const partial = this.#frames.pending > 0;
    const ms = partial
      ? Math.max(1, this.#frameStartedAt + this.#limits.partialFrameTimeoutMs - Date.now())
      : this.#limits.idleTimeoutMs;
    this.#timer = setTimeout(() => {
      this.#ctx.logger.debug(
        partial
          ? `closed a ${this.#label} client stuck in a partial frame`
          : `closed an idle ${this.#label} client`,
      );
      this.#socket.destroy();
    }, ms).unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#ended = true;
    this.#maybeFinish();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
