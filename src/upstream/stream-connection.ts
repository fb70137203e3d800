/**
 * One pipelined DNS stream to an upstream (RFC 7766 sec. 6.2.1.1): many queries in flight, answers in any
 * order, matched by our ID and the question (sec. 7). It ignores TLS: the socket comes connected (and
 * authenticated) from a factory, so clear TCP and test sockets share this code (hickory's design).
 *
 * States: open -> draining (no new queries: our close(), or the server's keepalive 0) -> closed.
 */
import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, ProtocolError, QueryTimeoutError, UpstreamBusyError } from '../errors.js';
import { keepaliveTimeoutMs, toUpstreamQuery } from '../dns/edns.js';
import { encodeFrames, FrameDecoder } from '../dns/length-prefix.js';
import { isResponse, parseMessage, type ParsedMessage } from '../dns/wire.js';
import type { Clock } from '../util/clock.js';
import { ActivityTimer } from '../util/activity-timer.js';
import { deferred } from '../util/deferred.js';
import type { Logger } from '../util/logger.js';
import { FirstAnswerNudge } from './first-answer-nudge.js';
import { HeldAnswerNudge, type SplitFrames } from './held-answer-nudge.js';
import { InFlightTable } from './in-flight-table.js';
import { countAnswer, countDeath, countFailure, type ConnectionStats } from './upstream-stats.js';
import type { AttemptSink, AuthInfo, UpstreamTransport } from './upstream.js';

export type ConnectionState = 'open' | 'draining' | 'closed';

const isAborted = (sink: AttemptSink): boolean => sink.aborted;

/**
 * The stall timer is the backstop for deadlines longer than the stall limit: when both are equal (the
 * daemon's default), the query's own deadline goes first, so it is counted as a timeout and the connection
 * as died while reading, as before timers were shared.
 */
const STALL_GRACE_MS = 50;

export interface ConnectionEvents {
  /** An answer that matched nothing in flight (wrong ID or question, duplicate, unsolicited). */
  unmatched?(): void;
  /** A query left this connection (answered, failed or given up): a slot is free. */
  settled?(): void;
  closed?(conn: StreamConnection, err: Error | undefined): void;
}

export interface StreamConnectionOptions {
  readonly target: string;
  readonly transport: UpstreamTransport;
  /** Our idle timeout; the server's keepalive (RFC 7828) can only shorten it. */
  readonly idleTimeoutMs: number;
  /** The pool's say on the idle limit, asked whenever it is read (connection-pool.ts idleLimitMs). */
  readonly idleLimitMs?: ((configuredMs: number) => number) | undefined;
  /** With queries in flight and no answer for this long, the connection is declared dead. */
  readonly stallTimeoutMs: number;
  readonly maxInFlight: number;
  /** Unsent bytes beyond which the connection reports busy instead of buffering more. */
  readonly maxPendingWriteBytes: number;
  readonly padBlock: number;
  readonly keepalive: boolean;
  /** RFC 7871 sec. 7.1.2: ECS with source prefix 0 instead of the client's. @default false */
  readonly ecsPrivate?: boolean | undefined;
  readonly auth?: AuthInfo | undefined;
  /** The upstream's SplitFrames (held-answer-nudge.ts); none for clear TCP, whose old servers RFC 7766 warns of. */
  readonly splitFrames?: SplitFrames | undefined;
  /** Where this connection counts reuse, deaths, padding, keepalive and round-trip times (its upstream's). */
  readonly stats?: ConnectionStats | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: ConnectionEvents;
}

export class StreamConnection {
  readonly #socket: Duplex;
  readonly #options: StreamConnectionOptions;
  readonly #table = new InFlightTable<AttemptSink>();
  readonly #decoder = new FrameDecoder();
  readonly #timer: ActivityTimer;
  readonly #closed = deferred<undefined>();
  #state: ConnectionState = 'open';
  #queriesSent = 0;
  #lastAnswerAt: number;
  /** When the chunk being decoded was read: one clock reading serves all of its answers. */
  #readAt = 0;
  #serverIdleMs: number | undefined;
  #ours = false;
  readonly #nudge = new FirstAnswerNudge();
  readonly #held: HeldAnswerNudge | undefined;
  /** Queries written in this event-loop turn, sent together by #flush. */
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  readonly #flush = (): void => {
    const frames = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    if (this.#state !== 'closed' && frames.length > 0) this.#write(frames);
  };

  constructor(socket: Duplex, options: StreamConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#held =
      options.splitFrames && new HeldAnswerNudge(options.splitFrames, socket, this.#table, options);
    this.#lastAnswerAt = options.clock.now();
    this.#timer = new ActivityTimer(options.clock, options.idleTimeoutMs, () => {
      this.#onTimer();
    });
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('error', (err: Error) => {
      this.#terminate(err);
    });
    // A FIN from the server means no more answers (RFC 7766 sec. 6.2.4): treat it as closed.
    const ended = (): void => {
      this.#terminate(undefined);
    };
    socket.on('end', ended).on('close', ended);
  }

  get state(): ConnectionState {
    return this.#state;
  }
  get inFlight(): number {
    return this.#table.size;
  }
  get auth(): AuthInfo | undefined {
    return this.#options.auth;
  }
  /** The server's RFC 7828 idle timeout in ms, if it sent one. */
  get serverKeepaliveMs(): number | undefined {
    return this.#serverIdleMs;
  }
  get queriesSent(): number {
    return this.#queriesSent;
  }

  /** True when this connection should not take another query now. */
  busy(): boolean {
    return (
      this.#state !== 'open' ||
      this.#table.size >= this.#options.maxInFlight ||
      this.#socket.writableLength + this.#queuedBytes > this.#options.maxPendingWriteBytes
    );
  }

  /** Sends a client's query under our own ID; the matching answer (or the failure) goes to `sink`. */
  dispatch(query: Buffer, msg: ParsedMessage, sink: AttemptSink): void {
    const { target } = this.#options;
    const counters = this.#options.stats?.counters;
    if (this.#state !== 'open' || this.busy() || sink.aborted) {
      const err = sink.aborted
        ? new QueryTimeoutError()
        : this.#state !== 'open'
          ? new ConnectionClosedError(target, true)
          : new UpstreamBusyError(target);
      if (counters !== undefined) countFailure(counters, err);
      sink.failed(err);
      return;
    }
    const id = this.#table.allocateId();
    const wire = toUpstreamQuery(query, msg, {
      id,
      padBlock: this.#options.padBlock,
      keepalive: this.#options.keepalive,
      ecsPrivate: this.#options.ecsPrivate,
    });
    const reused = this.#queriesSent > 0;
    this.#nudge.sent(wire, !reused);
    if (reused && this.#options.stats !== undefined) this.#options.stats.counters.connectionsReused++;
    const sentAt = this.#options.clock.now();
    sink.addEventListener('abort', this.#abandonAborted, { once: true });
    this.#table.add(id, sink, query, msg.question, sentAt, reused);
    this.#queriesSent++;
    this.#timer.touch(sentAt);
    // Turning busy may shorten the limit (stall instead of idle): see util/activity-timer.ts.
    if (this.#table.size === 1) this.#timer.fireBy(this.#options.stallTimeoutMs + STALL_GRACE_MS);
    this.#enqueue(wire);
  }

  /**
   * A query's attempt ran out of time: it leaves the table, and its sink learns why. One listener for the
   * connection, not one per query: it takes whatever in the table has been aborted (deadlines expire one
   * at a time, so usually just the one that called).
   */
  readonly #abandonAborted = {
    handleEvent: (): void => {
      this.#table.removeWhere(isAborted, this.#abandon);
    },
  };

  readonly #abandon = (sink: AttemptSink, sentAt: number): void => {
    const counters = this.#options.stats?.counters;
    if (counters !== undefined) counters.timeouts++;
    sink.failed(new QueryTimeoutError(`no answer from ${this.#options.target} in time`));
    this.#onAbandoned(sentAt);
    this.#options.events?.settled?.();
  };

  /**
   * RFC 7766 sec. 8: prefix and message in one write, and here every query of one event-loop turn in one
   * write. The profile showed one TLS write (record, encryption, syscall) per query at about 15% of the
   * daemon's CPU; socket.cork() in the same tick gave nothing, because each UDP datagram is its own
   * callback and tick. setImmediate runs after the poll phase, once every datagram read in it is queued.
   */
  #enqueue(wire: Buffer): void {
    if (this.#queued.length === 0) setImmediate(this.#flush);
    this.#queued.push(wire);
    this.#queuedBytes += wire.length + 2;
  }

  /**
   * The server sent a post-handshake message (a TLS 1.3 session ticket) while our first query waits: send
   * that query again shortly unless it is answered, so our ACK leaves at once (first-answer-nudge.ts).
   */
  nudge(): void {
    this.#nudge.ticket(this.#options.clock, this.#nudgeTarget, this.#queued.length > 0);
  }

  readonly #nudgeTarget = {
    canResend: (): boolean => this.#state === 'open' && this.#table.size > 0,
    resend: (first: Buffer): number => {
      const copy = Buffer.from(first);
      const id = this.#table.allocateId();
      copy.writeUInt16BE(id, 0);
      this.#write([copy]);
      this.#options.logger.debug('sent the first query again after a session ticket, to carry our ACK', {
        upstream: this.#options.target,
      });
      return id;
    },
  };

  /** Graceful: no new queries; closes once the answers in flight are in. */
  close(): Promise<void> {
    if (this.#state === 'open') this.#state = 'draining';
    if (this.#state === 'draining' && this.#table.size === 0) this.#endGracefully();
    return this.#closed.promise;
  }

  destroy(err?: Error): void {
    // Our own decision (shutdown, pool destroy): not a death to count against the server.
    this.#ours = true;
    this.#terminate(err);
  }

  /** Every frame we send goes through here, so the held-answer nudge's octet is never sent twice. */
  #write(frames: Buffer[]): void {
    if (this.#held === undefined) this.#socket.write(encodeFrames(frames));
    else this.#held.send(frames, this.#options.clock.now());
  }

  #onData(chunk: Buffer): void {
    this.#readAt = this.#options.clock.now();
    this.#decoder.each(chunk, this.#onFrameIfOpen);
    if (this.#state === 'open') this.#held?.afterAnswers(this.#table.size, this.#queued.length > 0);
  }

  /** Frames after a garbage one (which closes the connection) are not read. */
  readonly #onFrameIfOpen = (frame: Buffer): void => {
    if (this.#state !== 'closed') this.#onFrame(frame);
  };

  #onFrame(frame: Buffer): void {
    let msg: ParsedMessage;
    try {
      // No question key: the answer is matched to its query by the question's bytes (in-flight-table.ts).
      msg = parseMessage(frame, false);
    } catch (err) {
      // Once a frame is garbage the stream cannot be trusted to be in sync: drop the connection.
      this.#terminate(
        new ProtocolError(this.#options.target, `unparseable answer (${(err as Error).message})`),
      );
      return;
    }
    const sink = isResponse(frame) ? this.#table.take(msg.id, frame, msg.question) : undefined;
    if (sink === undefined) {
      this.#onUnmatched(msg);
      return;
    }
    this.#nudge.answered();
    this.#lastAnswerAt = this.#readAt;
    this.#timer.touch(this.#readAt);
    if (this.#options.stats !== undefined)
      countAnswer(this.#options.stats, msg, this.#readAt, this.#table.takenSentAt);
    this.#noteKeepalive(frame, msg);
    sink.removeEventListener('abort', this.#abandonAborted);
    const { transport, auth } = this.#options;
    sink.answered({ answer: frame, msg, transport, auth, receivedAt: this.#readAt });
    if (this.#table.size === 0) {
      if (this.#state === 'draining') this.#endGracefully();
      else this.#timer.fireBy(this.#idleMs());
    }
    this.#options.events?.settled?.();
  }

  #onUnmatched(msg: ParsedMessage): void {
    if (this.#nudge.isCopyAnswer(msg.id) || this.#held?.isFillerAnswer(msg.id) === true) return;
    if (this.#options.stats !== undefined) this.#options.stats.counters.unmatchedAnswers++;
    this.#options.events?.unmatched?.();
    this.#options.logger.debug('dropped an answer that matches no query in flight', {
      upstream: this.#options.target,
    });
  }

  #noteKeepalive(frame: Buffer, msg: ParsedMessage): void {
    const ms = keepaliveTimeoutMs(frame, msg);
    if (ms === undefined) return;
    this.#serverIdleMs = ms;
    if (this.#options.stats !== undefined) this.#options.stats.counters.keepaliveMs = ms;
    // RFC 7828 sec. 3.2.2: a TIMEOUT of 0 means send no new queries on this connection.
    if (ms === 0 && this.#state === 'open') this.#state = 'draining';
  }

  /** A query gave up waiting. If nothing was answered since it was sent, the connection is dead. */
  #onAbandoned(sentAt: number): void {
    if (this.#lastAnswerAt < sentAt && this.#state !== 'closed') {
      // The query that gave up has left the table already: it was still waiting, so count a death while reading.
      this.#terminate(new QueryTimeoutError(`${this.#options.target} stopped answering`), true);
    }
  }

  #idleMs(): number {
    const ours = this.#options.idleLimitMs?.(this.#options.idleTimeoutMs) ?? this.#options.idleTimeoutMs;
    const server = this.#serverIdleMs;
    return server === undefined ? ours : Math.min(ours, server);
  }

  /** Fires at the earliest moment the stall or idle limit could be reached; acts only if it has been. */
  #onTimer(): void {
    if (this.#state === 'closed') return;
    const busy = this.#table.size > 0;
    if (!this.#timer.expired(busy ? this.#options.stallTimeoutMs + STALL_GRACE_MS : this.#idleMs())) return;
    if (busy) {
      this.#terminate(new QueryTimeoutError(`${this.#options.target} stopped answering`));
      return;
    }
    // Idle: close before the server's timeout, as RFC 7828 sec. 3.2.2 asks, and without losing anything.
    this.#endGracefully();
  }

  /** Sends our FIN (after TLS close_notify) and stops; a peer that never closes its side is cut after 2 s. */
  #endGracefully(): void {
    this.#state = 'closed';
    this.#socket.end();
    const socket = this.#socket;
    setTimeout(() => socket.destroy(), 2000).unref();
    this.#finish(undefined);
  }

  #terminate(err: Error | undefined, waiting = this.#table.size > 0): void {
    if (this.#state === 'closed' && this.#table.size === 0) {
      this.#socket.destroy();
      return;
    }
    this.#countDeath(waiting);
    this.#held?.closed(!this.#ours && this.#state !== 'closed', this.#table.size);
    this.#state = 'closed';
    const cause = err ?? new Error('the connection closed');
    const counters = this.#options.stats?.counters;
    for (const { entry: sink, reused } of this.#table.drain()) {
      if (counters !== undefined) counters.failures++;
      sink.removeEventListener('abort', this.#abandonAborted);
      sink.failed(new ConnectionClosedError(this.#options.target, reused, cause));
    }
    this.#socket.destroy();
    this.#finish(err);
  }

  /** A connection that was not ours to end: counted by what it was doing. */
  #countDeath(waiting: boolean): void {
    const counters = this.#options.stats?.counters;
    if (counters !== undefined && this.#state !== 'closed' && !this.#ours)
      countDeath(counters, this.#socket.writableLength > 0, waiting);
  }

  #finish(err: Error | undefined): void {
    this.#timer.clear();
    if (err !== undefined)
      this.#options.logger.debug('upstream connection closed', {
        upstream: this.#options.target,
        cause: err.message,
      });
    this.#options.events?.closed?.(this, err);
    this.#closed.resolve(undefined);
  }
}
