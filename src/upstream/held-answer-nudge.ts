/**
 * Frees answers that a server with Nagle's algorithm on holds behind an answer we have not acknowledged,
 * by sending the first octet of our next frame ahead of it.
 *
 * unbound leaves Nagle on for its TCP and TLS connections: it writes a small segment only once everything
 * it sent before is acknowledged, and our kernel holds back that ACK while we send nothing (up to 40 ms on
 * Linux). Two queries close together lock a connection one answer behind: the second query's segment
 * acknowledges the answer before, so unbound sends the first answer then; the second answer waits behind
 * it until our next segment, whose own answer waits in turn. From then on every answer waits for the
 * query after it, or for the delayed ACK (a burst's last answer): against the loopback unbound at 2,000
 * q/s (dnsperf's -c 4 clients) the upstream round trip was 0.45-0.67 ms, the gap to the next query, and
 * straight dnsperf over TLS shows the same (README, "The held answer").
 *
 * Any segment from us carries the ACK. A query of our own would (first-answer-nudge.ts does it once per
 * connection), but its answer then takes the place of the one it freed and the lock goes on; what we send
 * instead is the length's first octet of our next frame, which asks for no answer. That frame must then
 * be shorter than 256 octets (its first octet 0): a short one in the batch goes first, else a query of our
 * own (the root's NS, answer dropped) completes the frame. A second octet (0x80) may follow for answers
 * that come one by one, committing the frame to 128 octets, the padded size of nearly every query.
 * RFC 7766 sec. 8 asks for length and message in one write "to make it more likely" that they travel
 * together, and warns that some servers abort when the first read lacks the message: a server that
 * closes the connection while our octets wait and queries are in flight gets none again (the queries are
 * retried as on any reused connection that closed, sec. 6.2.4).
 *
 * Only while our writes are sparse: at 10,000 q/s the next query comes within ~0.1 ms anyway, and an
 * octet after most answers cost the server a wakeup each (p99 1.2-1.7 against 1.0-1.1 ms by hand).
 */
import { Buffer } from 'node:buffer';
import { buildQuery } from '../dns/build-query.js';
import { toUpstreamQuery } from '../dns/edns.js';
import { encodeFrames } from '../dns/length-prefix.js';
import { parseMessage } from '../dns/wire.js';
import type { Logger } from '../util/logger.js';

/** The average gap between our writes above which the octet is sent: 4,000 writes a second and fewer. */
export const SPARSE_WRITE_GAP_MS = 0.25;

/** An upstream's verdict, shared by its connections: false once its server closed on a split frame. */
export interface SplitFrames {
  allowed: boolean;
}

/** The length our next frame commits to once two octets are out: a query padded to RFC 8467's block. */
const TWO_OCTET_LENGTH = 128;
const TYPE_NS = 2;
const CLASS_IN = 1;

/**
 * Our own query, for when no frame of the batch has the length the octets sent commit to: the root's NS,
 * built and padded (RFC 7830) as `dotstub query` and every forwarded query are, to TWO_OCTET_LENGTH
 * octets, which also begins with 0.
 */
function rootNsQuery(id: number): Buffer {
  const query = buildQuery('.', TYPE_NS, CLASS_IN, { id, ednsUdpSize: 1232 });
  return toUpstreamQuery(query, parseMessage(query), { id, padBlock: TWO_OCTET_LENGTH, keepalive: false });
}

/** Where our bytes go; `ids` gives a query of our own an ID not in flight (the connection's table). */
export interface HeldAnswerIo {
  readonly socket: { write(bytes: Buffer): unknown };
  readonly ids: { allocateId(): number };
  readonly where: { readonly logger: Logger; readonly target: string };
}

export class HeldAnswerNudge {
  readonly #split: SplitFrames;
  readonly #io: HeldAnswerIo;
  /**
   * Octets of our next frame's length already out: 1 (0x00, so the frame is shorter than 256 octets) or 2
   * (0x00 0x80, so it is TWO_OCTET_LENGTH long); the next write starts past them.
   */
  #ahead = 0;
  /** Average gap between our writes (ms), and when we last wrote. */
  #gapMs = 1;
  #lastWriteAt = Number.NaN;
  /** IDs of our completing queries whose answers may still come. */
  readonly #fillers = new Set<number>();

  constructor(
    split: SplitFrames,
    socket: HeldAnswerIo['socket'],
    ids: HeldAnswerIo['ids'],
    where: HeldAnswerIo['where'],
  ) {
    this.#split = split;
    this.#io = { socket, ids, where };
  }

  /**
   * Writes `frames` at `now`, past the octets already sent: a frame of the length they commit to goes first,
   * or our own query when none has it.
   */
  send(frames: Buffer[], now: number): void {
    this.#io.socket.write(this.#bytes(frames, now));
  }

  #bytes(frames: Buffer[], now: number): Buffer {
    const gap = Number.isNaN(this.#lastWriteAt) ? this.#gapMs : now - this.#lastWriteAt;
    this.#gapMs = this.#gapMs * 0.875 + gap * 0.125;
    this.#lastWriteAt = now;
    const ahead = this.#ahead;
    if (ahead === 0) return encodeFrames(frames);
    this.#ahead = 0;
    const fits = frames.findIndex((f) => (ahead === 1 ? f.length < 256 : f.length === TWO_OCTET_LENGTH));
    if (fits > 0) frames.unshift(...frames.splice(fits, 1));
    else if (fits < 0) {
      const id = this.#io.ids.allocateId();
      this.#fillers.add(id);
      frames.unshift(rootNsQuery(id));
    }
    return encodeFrames(frames).subarray(ahead);
  }

  /**
   * After the answers of one read: writes the next octet when queries are still in flight (an answer of
   * theirs may be held), nothing of ours is about to go, and writes are sparse. Two at most: answers that
   * come one by one (a browser's A, AAAA and HTTPS for a name) need one ACK after each.
   */
  afterAnswers(inFlight: number, writeQueued: boolean): void {
    if (this.#ahead === 2 || inFlight === 0 || writeQueued || !this.#split.allowed) return;
    if (this.#gapMs < SPARSE_WRITE_GAP_MS) return;
    this.#io.socket.write(Buffer.from([this.#ahead === 0 ? 0 : TWO_OCTET_LENGTH]));
    this.#ahead++;
  }

  /** True (once) for the answer to one of our completing queries: expected, and not wanted. */
  isFillerAnswer(id: number): boolean {
    return this.#fillers.delete(id);
  }

  /** The connection ended: if the server closed it on our octet with queries waiting, split no more. */
  closed(byServer: boolean, inFlight: number): void {
    if (!byServer || this.#ahead === 0 || inFlight === 0 || !this.#split.allowed) return;
    this.#split.allowed = false;
    this.#io.where.logger.warn(
      'the upstream closed on a frame split after its first octet; sending whole frames only',
      {
        upstream: this.#io.where.target,
      },
    );
  }
}
