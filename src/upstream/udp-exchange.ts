/**
 * One clear-text DNS query over UDP, hardened as RFC 5452 asks: a fresh socket on a kernel-chosen random
 * port for every query, connected to the server so the kernel drops datagrams from anyone else, and an
 * answer accepted only when its source, ID and whole question match. Anything else is reported and
 * ignored while the real answer is still awaited (sec. 9.3: never take the first packet that arrives).
 */
import { Buffer } from 'node:buffer';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { ConnectError, QueryTimeoutError } from '../errors.js';
import { HEADER_LENGTH, isResponse, parseMessage, type ParsedMessage } from '../dns/wire.js';
import type { AbortLike } from '../util/deadline.js';
import { isV6Address } from '../util/ip-literal.js';

/** Where a clear-text query goes. */
export interface ClearTarget {
  readonly address: string;
  readonly port: number;
  /** Names the upstream in errors and logs, e.g. `9.9.9.9#53 (clear)`. */
  readonly label: string;
}

/** What an answer must carry to be ours (RFC 5452 sec. 9.1). */
export interface ExpectedAnswer {
  /** Our message ID for this query. */
  readonly id: number;
  /** The question key (name case-folded, type, class) of the query, from `parseMessage`. */
  readonly key: string | undefined;
  /** Where the query's question ends: an answer's question, if it matches, ends there too. */
  readonly questionEnd: number;
}

export interface ClearAnswer {
  readonly answer: Buffer;
  readonly msg: ParsedMessage;
}

/** Why a message was not taken as the answer. */
export type DropReason = 'malformed' | 'source' | 'not-a-response' | 'id' | 'question';

export type DropListener = (reason: DropReason) => void;

export const isTruncated = (buf: Buffer): boolean => ((buf[2] ?? 0) & 0x02) !== 0;

/**
 * A TC=1 answer only has to tell us to retry over TCP, and some servers cut it mid-record. Its header and
 * question are enough: read them alone, with the record counts zeroed.
 */
function truncatedHead(buf: Buffer, expected: ExpectedAnswer): ClearAnswer | undefined {
  if (!isTruncated(buf) || buf.length < expected.questionEnd) return undefined;
  const head = Buffer.from(buf.subarray(0, expected.questionEnd));
  head.fill(0, 6, HEADER_LENGTH);
  try {
    return { answer: head, msg: parseMessage(head) };
  } catch {
    return undefined;
  }
}

/**
 * RFC 5452 sec. 9.1: QR=1, our ID, and our question (name compared case-insensitively, RFC 4343; type and
 * class). Returns the parsed answer, or why it is not ours. `cutTruncated` accepts a TC=1 answer whose
 * records do not parse, as its header and question alone (over UDP, where all it asks for is TCP).
 */
export function checkAnswer(
  buf: Buffer,
  expected: ExpectedAnswer,
  cutTruncated = false,
): ClearAnswer | DropReason {
  let checked: ClearAnswer | undefined;
  try {
    checked = { answer: buf, msg: parseMessage(buf) };
  } catch {
    checked = cutTruncated ? truncatedHead(buf, expected) : undefined;
  }
  if (checked === undefined) return 'malformed';
  if (!isResponse(buf)) return 'not-a-response';
  if (checked.msg.id !== expected.id) return 'id';
  if (checked.msg.question?.key !== expected.key) return 'question';
  return checked;
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed: nothing to release.
  }
}

/**
 * Sends `wire` (already carrying `expected.id`) from a fresh socket and resolves with the matching answer.
 * Rejects with ConnectError when the socket fails (ICMP port unreachable arrives as ECONNREFUSED on a
 * connected socket) and with QueryTimeoutError when `signal` aborts. The socket is closed either way.
 */
export function udpExchange(
  target: ClearTarget,
  wire: Buffer,
  expected: ExpectedAnswer,
  signal: AbortLike,
  onDrop: DropListener,
): Promise<ClearAnswer> {
  if (signal.aborted) return Promise.reject(new QueryTimeoutError(`no answer from ${target.label} in time`));
  const socket = createSocket(isV6Address(target.address) ? 'udp6' : 'udp4');
  return new Promise<ClearAnswer>((resolve, reject) => {
    let done = false;
    let server: { address: string; port: number } | undefined;
    const finish = (err: Error | undefined, answer?: ClearAnswer): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      closeQuietly(socket);
      if (answer !== undefined) resolve(answer);
      else reject(err ?? new Error('no answer'));
    };
    const fail = (err: unknown): void => {
      finish(new ConnectError(target.label, err));
    };
    const onAbort = (): void => {
      finish(new QueryTimeoutError(`no answer from ${target.label} in time`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', fail);
    socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => {
      if (done) return;
      // The connected socket already filters other sources; checking again costs nothing.
      if (server === undefined || rinfo.address !== server.address || rinfo.port !== server.port) {
        onDrop('source');
        return;
      }
      const checked = checkAnswer(buf, expected, true);
      if (typeof checked === 'string') onDrop(checked);
      else finish(undefined, checked);
    });
    // RFC 5452 sec. 9.2: port 0 makes the kernel pick a random source port (Linux: from
    // ip_local_port_range), and connect() makes it drop datagrams from any other address or port.
    socket.bind(0, () => {
      if (done) return;
      try {
        // Node passes a failed connect (a bad address, say) to this callback, not to 'error'.
        socket.connect(target.port, target.address, (err?: unknown) => {
          if (done) return;
          if (err !== undefined && err !== null) {
            fail(err);
            return;
          }
          server = socket.remoteAddress();
          socket.send(wire, (err) => {
            if (err) fail(err);
          });
        });
      } catch (err) {
        fail(err);
      }
    });
  });
}
