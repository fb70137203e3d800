/**
 * The queries waiting on one connection, by our own message ID (hickory's DnsMultiplexer rules): IDs are
 * random and never reused while in flight, so answers are matched by ID and question (RFC 7766 sec. 7)
 * whatever order they come in.
 *
 * No Map: a V8 Map that churns rehashes its table every so often, and the old table keeps both its stale
 * entries and a link to the new table (for live iterators). Once one old table had been promoted to the
 * old generation, every later table and every query entry left in them stayed reachable from it until the
 * next full collection. Under a steady 10,000 q/s each scavenge then copied and promoted about 2 MB of
 * finished queries (V8 --trace-gc-nvp) and paused 4-6 ms, which set the daemon's p99. Here an ID indexes a
 * slot through a typed array (no pointers for the collector to follow) and slots are reused from a free list.
 */
import { randomFillSync } from 'node:crypto';
import { sameQuestion } from '../dns/question-match.js';
import type { Question } from '../dns/wire.js';

/**
 * What an answer is matched against: the client's query and its parsed question (what we sent carries
 * the same question at the same offsets; the client's bytes are kept for the query's life anyway).
 */
export interface SentQuery {
  readonly query: Uint8Array;
  readonly question: Question | undefined;
}

const ID_BATCH = 512;

export class InFlightTable<E extends SentQuery> {
  /** Message ID -> slot index + 1 (0: not in flight). */
  readonly #slotOfId = new Uint16Array(65536);
  readonly #entries: (E | undefined)[] = [];
  readonly #idOfSlot: number[] = [];
  readonly #free: number[] = [];
  #size = 0;
  readonly #ids = new Uint16Array(ID_BATCH);
  #next = ID_BATCH;

  get size(): number {
    return this.#size;
  }

  /** A random ID not in flight on this connection (RFC 5452 sec. 9.2: unpredictable over 0-65535). */
  allocateId(): number {
    for (;;) {
      if (this.#next >= ID_BATCH) {
        randomFillSync(this.#ids);
        this.#next = 0;
      }
      const id = this.#ids[this.#next++] ?? 0;
      if (this.#slotOfId[id] === 0) return id;
    }
  }

  /** `id` must not be in flight (allocateId() gives such IDs). */
  add(id: number, entry: E): void {
    const slot = this.#free.pop() ?? this.#entries.length;
    this.#entries[slot] = entry;
    this.#idOfSlot[slot] = id;
    this.#slotOfId[id] = slot + 1;
    this.#size++;
  }

  /**
   * Removes and returns the entry if the ID and question both match, else undefined (the answer is
   * dropped). `question` is the answer's, read from `answer`.
   */
  take(id: number, answer: Uint8Array, question: Question | undefined): E | undefined {
    const slot = (this.#slotOfId[id] ?? 0) - 1;
    const entry = slot < 0 ? undefined : this.#entries[slot];
    if (entry === undefined) return undefined;
    // An answer without a question (a FORMERR, say) can only be matched by ID.
    if (question !== undefined) {
      const asked = entry.question;
      if (asked === undefined || !sameQuestion(answer, question, entry.query, asked)) return undefined;
    }
    this.#release(id, slot);
    return entry;
  }

  remove(id: number): E | undefined {
    const slot = (this.#slotOfId[id] ?? 0) - 1;
    if (slot < 0) return undefined;
    const entry = this.#entries[slot];
    this.#release(id, slot);
    return entry;
  }

  /** Empties the table; returns what was in it. */
  drain(): E[] {
    const out: E[] = [];
    for (let slot = 0; slot < this.#entries.length; slot++) {
      const entry = this.#entries[slot];
      if (entry === undefined) continue;
      out.push(entry);
      this.#release(this.#idOfSlot[slot] ?? 0, slot);
    }
    return out;
  }

  #release(id: number, slot: number): void {
    this.#slotOfId[id] = 0;
    this.#entries[slot] = undefined;
    this.#free.push(slot);
    this.#size--;
  }
}
