/**
 * The pipelined connections of one upstream. RFC 7766 sec. 6.2.2 asks for as few as possible: one at idle,
 * another only when every open one is at its in-flight cap, up to `maxConnections`. Concurrent queries
 * wait on one shared connect instead of each opening their own.
 */
import { ConnectionClosedError, QueryTimeoutError, UpstreamBusyError } from '../errors.js';
import type { ParsedMessage } from '../dns/wire.js';
import type { AbortLike } from '../util/deadline.js';
import { WaitQueue } from '../util/wait-queue.js';
import type { StreamConnection } from './stream-connection.js';
import type { AttemptSink } from './upstream.js';

export interface PoolOptions {
  readonly target: string;
  readonly maxConnections: number;
  /** Opens, authenticates and wraps one connection; rejects with the reason it could not. */
  readonly connect: () => Promise<StreamConnection>;
  readonly onConnectionOpened?: (conn: StreamConnection) => void;
  /** A query failed before any connection took it (no connection could be opened, or none freed up). */
  readonly onFailedWaiting?: (err: Error) => void;
}

/** Queries that may wait for a free slot; beyond this the upstream reports busy at once. */
const MAX_WAITERS = 4096;
const SLOT_POLL_MS = 50;

/**
 * How long a connection that only takes overflow stays open idle. A burst beyond the first connection's
 * in-flight cap opens another; once the burst is over this pool sends it nothing (#firstWithRoom), and
 * holding it for the full idle timeout (10 s) kept a server slot (unbound has 10 incoming TCP slots per
 * thread by default) and showed two connections at a moderate rate after a burst: RFC 7766 sec. 6.2.2
 * asks for as few as possible. A second gives bursts close together the connection they opened.
 */
const SURPLUS_IDLE_MS = 1000;

function raceAbort<T>(promise: Promise<T>, signal: AbortLike): Promise<T> {
  if (signal.aborted) return Promise.reject(new QueryTimeoutError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new QueryTimeoutError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export class ConnectionPool {
  readonly #options: PoolOptions;
  #connections: StreamConnection[] = [];
  #connecting: Promise<StreamConnection> | undefined;
  readonly #waiters = new WaitQueue();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  get connections(): readonly StreamConnection[] {
    return this.#connections;
  }

  /** Whether a connection is open (it may be full for a moment: a slot frees within a round trip). */
  hasOpen(): boolean {
    for (const conn of this.#connections) if (conn.state === 'open') return true;
    return false;
  }

  /**
   * Sends on the oldest open connection with room: at once when one has room (the common case, with no
   * promise), else once a connection opens or a slot frees, within the attempt's deadline.
   */
  dispatch(query: Buffer, msg: ParsedMessage, sink: AttemptSink): void {
    const conn = this.#firstWithRoom();
    if (conn !== undefined) {
      conn.dispatch(query, msg, sink);
      return;
    }
    this.#dispatchLater(query, msg, sink).catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#options.onFailedWaiting?.(error);
      sink.failed(error);
    });
  }

  async #dispatchLater(query: Buffer, msg: ParsedMessage, sink: AttemptSink): Promise<void> {
    for (;;) {
      const conn = await this.#acquire(sink);
      // Another query may have taken the last slot between the acquire and now: wait again.
      if (conn.busy() && conn.state === 'open') continue;
      conn.dispatch(query, msg, sink);
      return;
    }
  }

  /** A query left a connection: the longest-waiting query may try for its slot. */
  settled(): void {
    this.#waiters.wakeOldest();
  }

  /** Makes sure one authenticated (or, Opportunistic, tolerated) connection is open. */
  async warm(signal: AbortLike): Promise<void> {
    await this.#acquire(signal);
  }

  async #acquire(signal: AbortLike): Promise<StreamConnection> {
    for (let attempt = 0; attempt < 3;) {
      const ready = this.#firstWithRoom();
      if (ready !== undefined) return ready;
      if (this.#closed) throw new ConnectionClosedError(this.#options.target, false);
      const live = this.#connections.filter((c) => c.state !== 'closed').length;
      if (this.#connecting === undefined && live >= this.#options.maxConnections) {
        // Every connection is full and no more may open: wait for a slot, within the query's deadline,
        // rather than fail a burst that the pipelines will absorb in milliseconds.
        if (this.#waiters.size >= MAX_WAITERS) throw new UpstreamBusyError(this.#options.target);
        await this.#slot(signal);
        continue;
      }
      attempt++;
      this.#connecting ??= this.#open();
      // A shared connect that another query started: wait for it, then pick again (it may be full).
      await raceAbort(this.#connecting, signal);
    }
    throw new UpstreamBusyError(this.#options.target);
  }

  /** Resolves when a query finishes (or after a short poll, for slots freed by a drained socket). */
  #slot(signal: AbortLike): Promise<void> {
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, SLOT_POLL_MS).unref();
    });
    const waiter = this.#waiters.add(wake);
    return raceAbort(woken, signal).finally(() => {
      this.#waiters.cancel(waiter);
    });
  }

  /**
   * The oldest connection with room, not the least loaded: a connection is filled before the next gets any
   * query, so the second, opened by a burst, goes idle and closes once the burst is over. Spreading a
   * moderate rate over two connections cost a p99 of 40 ms at 2,000 q/s against unbound (3 ms on one): with
   * few queries per connection there is often no query of ours to carry the ACK of an answer, and a server
   * with Nagle's algorithm on holds its next answer until our delayed ACK (40 ms on Linux).
   */
  #firstWithRoom(): StreamConnection | undefined {
    for (const conn of this.#connections) if (!conn.busy()) return conn;
    return undefined;
  }

  async #open(): Promise<StreamConnection> {
    try {
      const conn = await this.#options.connect();
      this.#connections = [...this.#connections.filter((c) => c.state !== 'closed'), conn];
      this.#options.onConnectionOpened?.(conn);
      if (this.#closed) void conn.close();
      return conn;
    } finally {
      this.#connecting = undefined;
    }
  }

  /**
   * The idle limit of `conn`: `configuredMs`, or SURPLUS_IDLE_MS while an older connection is open (then
   * `conn` gets queries only when that one is full); if the older one closes, the configured limit again.
   */
  idleLimitMs(conn: StreamConnection, configuredMs: number): number {
    const first = this.#connections.find((c) => c.state === 'open');
    return first !== undefined && first !== conn ? Math.min(configuredMs, SURPLUS_IDLE_MS) : configuredMs;
  }

  /** Forgets a closed connection (called from the connection's `closed` event). */
  remove(conn: StreamConnection): void {
    this.#connections = this.#connections.filter((c) => c !== conn);
    // Room for a new connection: let a waiting query try.
    this.#waiters.wakeOldest();
  }

  /**
   * Drops every connection now but stays open: after a wake from sleep or a network change the sockets
   * are dead or bound to an address the machine no longer has, and waiting for their timers to notice
   * would cost each query a timeout. Queries in flight fail as on a reused connection, so the resolver
   * retries them once on a fresh one (RFC 7766 sec. 6.2.4).
   */
  resetConnections(): void {
    const dropped = this.#connections;
    this.#connections = [];
    const reason = new ConnectionClosedError(this.#options.target, true, 'network changed');
    for (const conn of dropped) conn.destroy(reason);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#connections.map((c) => c.close()));
  }

  destroy(err?: Error): void {
    this.#closed = true;
    for (const conn of this.#connections) conn.destroy(err);
    this.#connections = [];
  }
}
