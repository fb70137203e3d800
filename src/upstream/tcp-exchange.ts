/**
 * One clear-text DNS query over TCP: the retry of a query whose UDP answer came back truncated (TC=1,
 * RFC 1035 sec. 4.2.1, RFC 7766 sec. 5). One connection per query, closed once the answer is in: these
 * retries are rare, and a clear-text connection is not worth keeping (no keepalive in clear).
 */
import { connect, type Socket } from 'node:net';
import { ConnectError, ConnectionClosedError, QueryTimeoutError } from '../errors.js';
import { encodeFrame, FrameDecoder } from '../dns/length-prefix.js';
import type { AbortLike } from '../util/deadline.js';
import {
  checkAnswer,
  type ClearAnswer,
  type ClearTarget,
  type DropListener,
  type ExpectedAnswer,
} from './udp-exchange.js';

/**
 * Sends `wire` (already carrying `expected.id`) over a new TCP connection and resolves with the answer
 * that matches its ID and question; other frames are reported and skipped (the length prefix keeps the
 * stream in step). Rejects with ConnectError when the connection cannot be made, ConnectionClosedError
 * when it ends before the answer, QueryTimeoutError when `signal` aborts (connecting included).
 */
export function tcpExchange(
  target: ClearTarget,
  wire: Buffer,
  expected: ExpectedAnswer,
  signal: AbortLike,
  onDrop: DropListener,
): Promise<ClearAnswer> {
  if (signal.aborted) return Promise.reject(new QueryTimeoutError(`no answer from ${target.label} in time`));
  return new Promise<ClearAnswer>((resolve, reject) => {
    const decoder = new FrameDecoder();
    let connected = false;
    let done = false;
    const socket: Socket = connect({ host: target.address, port: target.port });
    const finish = (err: Error | undefined, answer?: ClearAnswer): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (answer !== undefined) resolve(answer);
      else reject(err ?? new Error('no answer'));
    };
    const onAbort = (): void => {
      finish(
        new QueryTimeoutError(
          connected
            ? `no answer from ${target.label} over TCP in time`
            : `TCP connect to ${target.label} did not finish in time`,
        ),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.once('connect', () => {
      connected = true;
      // RFC 7766 sec. 8: the length prefix and the message in one write.
      socket.write(encodeFrame(wire));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (done) return;
        const checked = checkAnswer(frame, expected);
        if (typeof checked === 'string') onDrop(checked);
        else finish(undefined, checked);
      }
    });
    socket.on('error', (err) => {
      finish(
        connected ? new ConnectionClosedError(target.label, false, err) : new ConnectError(target.label, err),
      );
    });
    socket.on('close', () => {
      finish(new ConnectionClosedError(target.label, false));
    });
  });
}
