/**
 * A fresh connection's first query, sent once more when a TLS 1.3 session ticket arrives before its answer.
 *
 * A server that leaves Nagle on (unbound does) holds its next write, the second ticket and then our
 * answer, until we acknowledge the first ticket, and our kernel delays that ACK while we have nothing to
 * send (40 ms on Linux, up to 200 ms elsewhere): every fresh connection's first answer came 40 ms late
 * from a loopback unbound (strace: the ticket and the answer written 0.4 ms apart). Any data from us
 * carries the ACK at once, so the first query goes out again under another ID and its answer is dropped:
 * one copy of a question the server already has, once per connection, only while no answer has come
 * (NUDGE_AFTER_MS after the ticket) and nothing else of ours is about to be written.
 *
 * StreamConnection owns the socket and the IDs; this owns when to nudge and which answer to drop.
 */
import type { Clock } from '../util/clock.js';

/**
 * How long after a session ticket the first answer may take before the nudge acts. A server with Nagle off
 * sends the ticket and a ready answer back to back; this keeps the copy for servers that hold the answer
 * (40 ms and more) or are still resolving it, at 2 ms of the 40 saved.
 */
export const NUDGE_AFTER_MS = 2;

/** What the nudge needs of its connection, at the moment it would send. */
export interface NudgeTarget {
  /** Open, with the first query still waiting. */
  canResend(): boolean;
  /** Writes a copy of `first` under a new ID at once; returns that ID. */
  resend(first: Buffer): number;
}

export class FirstAnswerNudge {
  /** The first query as sent, kept until the first answer (then undefined for good): what the nudge sends. */
  #firstWire: Buffer | undefined;
  #armed = false;
  /** The ID of the copy while its answer (dropped) may still come. */
  #copyId = -1;

  /** Notes a query as it is sent; the connection's first is kept for the nudge. */
  sent(wire: Buffer, first: boolean): void {
    if (first) this.#firstWire = wire;
  }

  /** Any answer matched: the first query is answered, and nothing is kept. */
  answered(): void {
    this.#firstWire = undefined;
  }

  /** A session ticket came: send the first query again in NUDGE_AFTER_MS unless answered by then. */
  ticket(clock: Clock, target: NudgeTarget, writePending: boolean): void {
    if (this.#armed || this.#firstWire === undefined || writePending) return;
    this.#armed = true;
    clock.setTimeout(() => {
      const first = this.#firstWire;
      if (first === undefined || !target.canResend()) return;
      this.#copyId = target.resend(first);
    }, NUDGE_AFTER_MS);
  }

  /** True (once) for the answer to the copy: expected, and not wanted. */
  isCopyAnswer(id: number): boolean {
    if (id !== this.#copyId) return false;
    this.#copyId = -1;
    return true;
  }
}
