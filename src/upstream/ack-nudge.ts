/**
 * Our ACK, sent at once when the server holds answers until it has one.
 *
 * A server that leaves Nagle on (unbound 1.17 does: the DoT server of many home routers and Pi-holes)
 * writes one answer, or a TLS 1.3 session ticket, and then holds every further small write until we
 * acknowledge the first; our kernel delays that ACK while we have nothing to send (40 ms on Linux, up to
 * 200 ms elsewhere). Any data from us carries the ACK. Measured through the daemon against a loopback
 * unbound, queries 20 ms apart: an A and AAAA pair (what getaddrinfo sends together) had its second answer
 * 43 ms late one time in two, a burst of 16 had 15 answers 43-47 ms late, and a fresh connection's first
 * answer came 40 ms late behind the session ticket. Node has no TCP_QUICKACK, which would say the same
 * without data.
 *
 * So when the server has sent something while queries wait, and for NUDGE_AFTER_MS after it nothing more
 * has come and nothing of ours has been written, a query goes out under an ID of its own and its answer is
 * dropped: for the question the server answered last (it has the answer at hand), or before any answer the
 * last query sent. At most once per arrival, never while we write anyway (under load our queries carry the
 * ACKs), and only while nudges pay: held answers come out ahead of the copy's answer, while a server that
 * sends at once (most public ones) and is merely still resolving answers the copy first. Such useless
 * nudges use up the connection's credit; a useful one restores it.
 *
 * StreamConnection owns the socket, the IDs and the query's bytes; this owns when to nudge and which
 * answers to drop.
 */
import { Buffer } from 'node:buffer';
import { questionQuery } from '../dns/build-query.js';
import { toUpstreamQuery, type UpstreamQueryOptions } from '../dns/edns.js';
import { parseMessage } from '../dns/wire.js';
import type { Clock, Timer } from '../util/clock.js';

/**
 * How long after the server's last write the nudge waits. A server with Nagle off sends its answers
 * back to back; this keeps the copy for servers that hold them (40 ms and more) at 2 ms of the 40 saved.
 */
export const NUDGE_AFTER_MS = 2;

/** Nudges in a row that released nothing before the connection stops nudging. */
export const NUDGE_CREDIT = 3;

/** Without credit, one nudge this long after the last may find that the server now holds answers. */
export const NUDGE_RETRY_MS = 30_000;

/** Copies whose answers may still come: a few at most, since each waits on a server's write. */
const COPIES_REMEMBERED = 8;

/** What the nudge needs of its connection, at the moment it would send. */
export interface NudgeTarget {
  /** Open, with queries waiting and none about to be written. */
  canResend(): boolean;
  /**
   * Writes a query at once under a new ID and returns the ID: for the question of `answered`, the
   * last answer matched, or else a copy of `sent`, the last query sent.
   */
  resend(answered: Buffer | undefined, sent: Buffer): number;
}

export class AckNudge {
  readonly #clock: Clock;
  readonly #target: NudgeTarget;
  #timer: Timer | undefined;
  #armed = false;
  #lastSent: Buffer | undefined;
  #lastAnswer: Buffer | undefined;
  /** The server sent something that no write of ours has acknowledged yet. */
  #unacked = false;
  #receivedAt = 0;
  readonly #copyIds: number[] = [];
  /** The latest nudge's ID until an answer shows whether it released anything (-1: none pending). */
  #judging = -1;
  #credit = NUDGE_CREDIT;
  #lastNudgeAt = -Infinity;

  constructor(clock: Clock, target: NudgeTarget) {
    this.#clock = clock;
    this.#target = target;
  }

  /** A query is on its way out: before any answer, what a nudge sends again. */
  sent(wire: Buffer): void {
    this.#lastSent = wire;
  }

  /** A query of ours was answered: its question is the next nudge's, and a nudge before it paid off. */
  answered(frame: Buffer): void {
    this.#lastAnswer = frame;
    if (this.#judging >= 0) {
      this.#judging = -1;
      this.#credit = NUDGE_CREDIT;
    }
  }

  /** We wrote to the server: that write carried our ACK. */
  wrote(): void {
    this.#unacked = false;
  }

  /** The server sent something (answers, a session ticket) while queries of ours wait. */
  received(): void {
    this.#unacked = true;
    this.#receivedAt = this.#clock.now();
    if (!this.#armed) this.#arm(NUDGE_AFTER_MS);
  }

  /**
   * True (once) for the answer to a copy: expected, and not wanted. The latest copy's answer ahead of any
   * other, while queries still wait, means it released nothing.
   */
  isCopyAnswer(id: number, waiting: boolean): boolean {
    const at = this.#copyIds.indexOf(id);
    if (at < 0) return false;
    this.#copyIds.splice(at, 1);
    if (id === this.#judging) {
      this.#judging = -1;
      if (waiting && this.#credit > 0) this.#credit--;
    }
    return true;
  }

  clear(): void {
    this.#timer?.clear();
    this.#armed = false;
  }

  #arm(ms: number): void {
    this.#armed = true;
    if (this.#timer === undefined) this.#timer = this.#clock.setTimeout(this.#check, ms);
    else this.#timer.refresh(ms);
  }

  /** One timer for the connection, armed on an arrival only when it is not already: none per answer. */
  readonly #check = (): void => {
    this.#armed = false;
    if (!this.#unacked) return;
    const now = this.#clock.now();
    const wait = this.#receivedAt + NUDGE_AFTER_MS - now;
    if (wait > 0) {
      this.#arm(wait);
      return;
    }
    this.#unacked = false;
    const sent = this.#lastSent;
    if (sent === undefined || !this.#target.canResend()) return;
    if (this.#credit === 0 && now - this.#lastNudgeAt < NUDGE_RETRY_MS) return;
    this.#lastNudgeAt = now;
    const id = this.#target.resend(this.#lastAnswer, sent);
    if (this.#copyIds.length >= COPIES_REMEMBERED) this.#copyIds.shift();
    this.#copyIds.push(id);
    this.#judging = id;
  };
}

/**
 * The nudge's query under `id`: the question of `answered` sent the way our queries are (padding,
 * keepalive, ECS), or before any answer a copy of `sent`.
 */
export function carrierQuery(
  answered: Buffer | undefined,
  sent: Buffer,
  id: number,
  shape: Omit<UpstreamQueryOptions, 'id'>,
): Buffer {
  const question = answered === undefined ? undefined : parseMessage(answered, false).question;
  if (answered === undefined || question === undefined) {
    const copy = Buffer.from(sent);
    copy.writeUInt16BE(id, 0);
    return copy;
  }
  const query = questionQuery(answered, question.end, id);
  return toUpstreamQuery(query, parseMessage(query, false), { ...shape, id });
}
