// Helpers for the bad-input and load tests: unhandled-rejection capture, a forced GC for "memory back near
// its start", a memory sampler, and clients that send many messages over one UDP socket or TCP connection.
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { frame, FrameReader } from './dns-answer.js';
import { waitFor } from './dns-messages.js';

/** Counts unhandled rejections and uncaught exceptions until `stop()` (which also removes the hooks). */
export function trackUnhandled(): { readonly errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onError = (err: unknown): void => {
    errors.push(err);
  };
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  return {
    errors,
    stop: () => {
      process.off('unhandledRejection', onError);
      process.off('uncaughtException', onError);
    },
  };
}

let gcFn: (() => void) | undefined;
/** A full garbage collection, so heap figures compare live data and not garbage not yet collected. */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

/** Samples heapUsed and RSS every `everyMs` until stopped; reports the peaks in MiB. */
export function sampleMemory(everyMs = 50): { stop(): { heapMiB: number; rssMiB: number } } {
  let heap = 0;
  let rss = 0;
  const take = (): void => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { heapMiB: heap / 2 ** 20, rssMiB: rss / 2 ** 20 };
    },
  };
}

export const heapMiB = (): number => process.memoryUsage().heapUsed / 2 ** 20;

/**
 * Sends `messages` from one UDP socket in batches of `batch`, waiting after each until `received()` (the
 * daemon's own count of datagrams) has caught up, so socket buffers never overflow. Then waits (up to
 * `settleMs`) for `expectReplies` replies before closing the socket, and returns the replies it got.
 */
export async function udpBlast(
  port: number,
  messages: readonly Buffer[],
  received: () => number,
  expectReplies: number,
  { batch = 100, settleMs = 10_000 } = {},
): Promise<Buffer[]> {
  // Replies arrive while this same process is busy being the daemon too: a roomy buffer keeps the kernel
  // from dropping them (the default 208 KiB holds about a hundred padded answers).
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const start = received();
  try {
    for (let i = 0; i < messages.length; i += batch) {
      for (const m of messages.slice(i, i + batch)) sock.send(m, port, '127.0.0.1');
      const want = start + Math.min(i + batch, messages.length);
      await waitFor(() => received() >= want, 5000, `the daemon to read ${want - start} datagrams`);
    }
    await waitFor(() => replies.length >= expectReplies, settleMs, `${expectReplies} replies`).catch(
      () => undefined,
    );
    return replies;
  } finally {
    sock.close();
  }
}

/**
 * Writes every frame on one TCP connection, half-closes, and collects answers until the daemon closes its
 * side (it answers what it was asked first). Rejects on a timeout or a socket error.
 */
export function tcpPipeline(
  port: number,
  payloads: readonly Buffer[],
  timeoutMs = 15_000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const answers: Buffer[] = [];
    const reader = new FrameReader((a) => answers.push(a));
    const sock = connect(port, '127.0.0.1', () => {
      sock.end(Buffer.concat(payloads.map(frame)));
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP pipeline timed out after ${answers.length} answers`));
    }, timeoutMs);
    sock.on('data', (c: Buffer) => {
      reader.push(c);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(answers);
    });
  });
}

/** One TCP connection that asks queries one after another (a resolver library's persistent connection). */
export class SequentialTcpClient {
  readonly #sock: Socket;
  readonly #ready: Promise<void>;
  #waiting: ((answer: Buffer | Error) => void) | undefined;
  #closed = false;

  constructor(port: number) {
    this.#sock = connect(port, '127.0.0.1');
    this.#ready = new Promise((resolve, reject) => {
      this.#sock.once('connect', resolve);
      this.#sock.once('error', reject);
    });
    const reader = new FrameReader((a) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.(a);
    });
    this.#sock.on('data', (c: Buffer) => {
      reader.push(c);
    });
    this.#sock.on('error', () => undefined);
    this.#sock.on('close', () => {
      this.#closed = true;
      this.#waiting?.(new Error('connection closed'));
    });
  }

  /** Resolves once connected. */
  ready(): Promise<void> {
    return this.#ready;
  }

  async ask(query: Buffer, timeoutMs: number): Promise<Buffer> {
    await this.#ready;
    if (this.#closed) throw new Error('connection closed');
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error('TCP query timed out'));
      }, timeoutMs);
      this.#waiting = (a) => {
        clearTimeout(timer);
        if (a instanceof Error) reject(a);
        else resolve(a);
      };
      this.#sock.write(frame(query));
    });
  }

  close(): void {
    this.#sock.destroy();
  }
}
