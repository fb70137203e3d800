/**
 * The queries waiting on one connection, by our own message ID (hickory's DnsMultiplexer rules): IDs are
 * random and never reused while in flight, so answers are matched by ID and question (RFC 7766 sec. 7)
 * whatever order they come in.
 *
 * No Map: a V8 Map that churns rehashes its table every so often, and the old table keeps both its stale
 * entries and a link to the new table (for live iterators). Once one old table had been promoted to the
 * old generation, every later table and every query entry left in them stayed reachable from it until the
 * next full collection. Under a steady 10,000 q/s each scavenge then copied and promoted about 2 MB of
 * finished queries (V8 --trace-gc-nvp) and paused 4-6 ms, which set the daemon's p99. Here an ID finds its
 * slot through typed arrays (no pointers for the collector to follow) and slots are reused from a free list.
 *
 * The ID index is a small open-addressing table (linear probing, backward-shift deletion) with four
 * positions per slot, not an array over all 65,536 IDs: random IDs spread a query's lookups over that
 * array's 128 KB, and at the maximum rate each was a cache miss (the young generation and the kernel's
 * buffers sweep the caches between a query and its answer). A few KB stay in the cache.
 *
 * For the same reason each slot keeps its own copy of the question (name octets, type, class) when the
 * name fits NAME_ROOM: matching an answer then reads the slot's record, not the client's query and its
 * parse, which were made a whole round trip before and had left the caches (perf at the maximum rate:
 * take() was the costliest function of the answer path, 0.60 µs a query of self time in a slow spell).
 * And what take() reads sits together: an ID beside its slot in the index, a slot's fields in one record.
 */
import { randomFillSync } from 'node:crypto';
import { copyQuestionName, sameNameExpanding, sameQuestion } from '../dns/question-match.js';
import type { Question } from '../dns/wire.js';

const ID_BATCH = 512;
/** Slots to begin with; the slot records and the ID index double together. */
const INITIAL_SLOTS = 16;

/**
 * A slot's record: 64 octets, a cache line's worth, so matching an answer reads one record instead of one
 * line from each of six arrays (sent time, type, class, flags, name, ID). Octet offsets within it:
 */
const RECORD = 64;
/** When the query was sent: a float64 at octet 0 (clock milliseconds). */
const SENT_AT = 0;
/** The question's type and class, uint16s at octets 8 and 10 (when the name is copied). */
const TYPE = 8;
const CLASS = 10;
/** 1 when the name is copied at NAME; 1 when the connection had carried a query before. */
const NAMED = 12;
const REUSED = 13;
/** Our ID for the query, a uint16 at octet 14. */
const ID = 14;
/**
 * The question's name octets with the final zero, when it fits NAME_ROOM: most names do (a longer one is
 * matched against the query it came in).
 */
const NAME = 16;
const NAME_ROOM = RECORD - NAME;

/**
 * One connection's queries in flight. Per slot: the waiting entry (the attempt's sink) and a record with
 * the question (a copy of its name, type and class; for a longer name the client's query, whose bytes are
 * kept for the query's life anyway: what we sent carries the same question at the same offsets, and its
 * parse), when it was sent, whether the connection had carried a query before, and the ID. In typed arrays,
 * not an object per query: under load the queries in flight are most of what the young generation's
 * collector copies (about 1 KB of objects a query, hundreds in flight at the maximum).
 */
export class InFlightTable<E> {
  /** The ID index: at each position p, [2p] the ID and [2p + 1] its slot + 1 (0: the position is empty). */
  #index = new Int32Array(2 * 4 * INITIAL_SLOTS);
  #indexMask = 4 * INITIAL_SLOTS - 1;
  readonly #entries: (E | undefined)[] = [];
  readonly #queries: (Uint8Array | undefined)[] = [];
  readonly #questions: (Question | undefined)[] = [];
  /** The slot records (RECORD octets each), and the same memory as float64s and uint16s. */
  #records = new Uint8Array(INITIAL_SLOTS * RECORD);
  #records64 = new Float64Array(this.#records.buffer);
  #records16 = new Uint16Array(this.#records.buffer);
  readonly #free: number[] = [];
  #size = 0;
  #takenSentAt = NaN;
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
      if (this.#position(id) < 0) return id;
    }
  }

  /** `id` must not be in flight (allocateId() gives such IDs). */
  add(
    id: number,
    entry: E,
    query: Uint8Array,
    question: Question | undefined,
    sentAt: number,
    reused: boolean,
  ): void {
    const slot = this.#free.pop() ?? this.#entries.length;
    if ((slot + 1) * RECORD > this.#records.length) this.#grow();
    this.#entries[slot] = entry;
    const at = slot * RECORD;
    const records = this.#records;
    const named = question !== undefined && copyQuestionName(query, records, at + NAME, NAME_ROOM);
    records[at + NAMED] = named ? 1 : 0;
    records[at + REUSED] = reused ? 1 : 0;
    if (named) {
      this.#records16[(at + TYPE) >> 1] = question.type;
      this.#records16[(at + CLASS) >> 1] = question.qclass;
    }
    this.#records16[(at + ID) >> 1] = id;
    this.#records64[(at + SENT_AT) >> 3] = sentAt;
    // The query and its parse only for a name too long to copy: otherwise the slot keeps nothing of the
    // query's objects, and its parse (about 100 bytes) dies young instead of being copied by the scavenges
    // it lives through (in flight a round trip, and longer at the maximum).
    this.#queries[slot] = named ? undefined : query;
    this.#questions[slot] = named ? undefined : question;
    this.#indexAt(id, slot);
    this.#size++;
  }

  /** When the query with `id` was sent, or NaN if none is in flight. */
  sentAt(id: number): number {
    const slot = this.#slotAt(this.#position(id));
    return slot < 0 ? NaN : this.#sentAtOf(slot);
  }

  /** When the query whose entry take() last returned was sent: the answer's round trip without a second probe. */
  get takenSentAt(): number {
    return this.#takenSentAt;
  }

  /**
   * Removes and returns the entry if the ID and question both match, else undefined (the answer is
   * dropped). `question` is the answer's, read from `answer`.
   */
  take(id: number, answer: Uint8Array, question: Question | undefined): E | undefined {
    const at = this.#position(id);
    const slot = this.#slotAt(at);
    const entry = slot < 0 ? undefined : this.#entries[slot];
    if (entry === undefined) return undefined;
    // An answer without a question (a FORMERR, say) can only be matched by ID.
    if (question !== undefined && !this.#sameAsAsked(slot, answer, question)) return undefined;
    this.#takenSentAt = this.#sentAtOf(slot);
    this.#release(at, slot);
    return entry;
  }

  /** Whether the answer's question is the one asked in `slot` (a query without one matches none). */
  #sameAsAsked(slot: number, answer: Uint8Array, question: Question): boolean {
    const at = slot * RECORD;
    if (this.#records[at + NAMED] === 1)
      return (
        this.#records16[(at + TYPE) >> 1] === question.type &&
        this.#records16[(at + CLASS) >> 1] === question.qclass &&
        sameNameExpanding(answer, question.start, this.#records, at + NAME)
      );
    const asked = this.#questions[slot];
    const query = this.#queries[slot];
    return asked !== undefined && query !== undefined && sameQuestion(answer, question, query, asked);
  }

  remove(id: number): E | undefined {
    const at = this.#position(id);
    const slot = this.#slotAt(at);
    if (slot < 0) return undefined;
    const entry = this.#entries[slot];
    this.#release(at, slot);
    return entry;
  }

  /** Removes every entry `pick` chooses, then calls `visit` with each and when it was sent. */
  removeWhere(pick: (entry: E) => boolean, visit: (entry: E, sentAt: number) => void): void {
    const picked: [E, number][] = [];
    for (let slot = 0; slot < this.#entries.length; slot++) {
      const entry = this.#entries[slot];
      if (entry === undefined || !pick(entry)) continue;
      picked.push([entry, this.#sentAtOf(slot)]);
      this.#release(this.#position(this.#idOf(slot)), slot);
    }
    for (const [entry, sentAt] of picked) visit(entry, sentAt);
  }

  /** Empties the table; returns what was in it, each with whether its connection had been used before. */
  drain(): { entry: E; reused: boolean }[] {
    const out: { entry: E; reused: boolean }[] = [];
    for (let slot = 0; slot < this.#entries.length; slot++) {
      const entry = this.#entries[slot];
      if (entry === undefined) continue;
      out.push({ entry, reused: this.#records[slot * RECORD + REUSED] === 1 });
      this.#release(this.#position(this.#idOf(slot)), slot);
    }
    return out;
  }

  #sentAtOf(slot: number): number {
    return this.#records64[(slot * RECORD + SENT_AT) >> 3] ?? NaN;
  }

  #idOf(slot: number): number {
    return this.#records16[(slot * RECORD + ID) >> 1] ?? 0;
  }

  #grow(): void {
    const records = new Uint8Array(this.#records.length * 2);
    records.set(this.#records);
    this.#records = records;
    this.#records64 = new Float64Array(records.buffer);
    this.#records16 = new Uint16Array(records.buffer);
    const index = this.#index;
    this.#index = new Int32Array(index.length * 2);
    this.#indexMask = index.length - 1;
    for (let p = 0; p < index.length; p += 2) {
      const slot = index[p + 1] ?? 0;
      if (slot !== 0) this.#indexAt(index[p] ?? 0, slot - 1);
    }
  }

  /**
   * Where `id` is in the index, or -1. IDs are random: the low bits are a good home. An ID and its slot
   * sit side by side, so a probe reads one cache line.
   */
  #position(id: number): number {
    const mask = this.#indexMask;
    const index = this.#index;
    for (let at = id & mask; ; at = (at + 1) & mask) {
      if (index[2 * at + 1] === 0) return -1;
      if (index[2 * at] === id) return at;
    }
  }

  /** The slot indexed at position `at` (#position's), or -1 for none. */
  #slotAt(at: number): number {
    return at < 0 ? -1 : (this.#index[2 * at + 1] ?? 0) - 1;
  }

  /** Indexes `id` (not in the index) at `slot`. At most a quarter of the positions are taken. */
  #indexAt(id: number, slot: number): void {
    const mask = this.#indexMask;
    const index = this.#index;
    let at = id & mask;
    while (index[2 * at + 1] !== 0) at = (at + 1) & mask;
    index[2 * at] = id;
    index[2 * at + 1] = slot + 1;
  }

  /** Empties the index at position `at`, pulling later entries of its probe run back (no tombstones). */
  #unindex(at: number): void {
    if (at < 0) return;
    const index = this.#index;
    let hole = at;
    const mask = this.#indexMask;
    for (let next = (hole + 1) & mask; index[2 * next + 1] !== 0; next = (next + 1) & mask) {
      const home = (index[2 * next] ?? 0) & mask;
      // The entry at `next` may move to `hole` only if its home is not between hole and next (cyclically).
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        index[2 * hole] = index[2 * next] ?? 0;
        index[2 * hole + 1] = index[2 * next + 1] ?? 0;
        hole = next;
      }
    }
    index[2 * hole + 1] = 0;
  }

  /** Frees `slot`, indexed at position `at`: one probe of the index per answer, done by the caller. */
  #release(at: number, slot: number): void {
    this.#unindex(at);
    this.#entries[slot] = undefined;
    this.#queries[slot] = undefined;
    this.#questions[slot] = undefined;
    this.#free.push(slot);
    this.#size--;
  }
}
