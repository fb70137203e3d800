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
 * name fits NAME_ROOM: matching an answer then reads these arrays, not the client's query and its parse,
 * which were made a whole round trip before and had left the caches (perf at the maximum rate: take() was
 * the costliest function of the answer path, 0.60 µs a query of self time in a slow spell).
 */
import { randomFillSync } from 'node:crypto';
import { copyQuestionName, sameNameExpanding, sameQuestion } from '../dns/question-match.js';
import type { Question } from '../dns/wire.js';

const ID_BATCH = 512;
/** Slots to begin with; the slot arrays and the ID index double together. */
const INITIAL_SLOTS = 16;
/**
 * Octets of question name a slot holds (with its final zero): most names are shorter (a 64-octet line
 * each); a longer one is matched against the query it came in.
 */
const NAME_ROOM = 64;

/**
 * One connection's queries in flight. Per slot: the waiting entry (the attempt's sink), the question (a copy
 * of its name, type and class; for a longer name the client's query, whose bytes are kept for the query's
 * life anyway: what we sent carries the same question at the same offsets, and its parse), when it was
 * sent and whether the connection had carried a query before. In arrays, not an object per query: under load the queries in flight are most of what the young
 * generation's collector copies (about 1 KB of objects a query, hundreds in flight at the maximum).
 */
export class InFlightTable<E> {
  /** The ID index: at each position an ID and its slot + 1 (0: the position is empty). */
  #indexIds = new Uint16Array(4 * INITIAL_SLOTS);
  #indexSlots = new Int32Array(4 * INITIAL_SLOTS);
  #indexMask = 4 * INITIAL_SLOTS - 1;
  readonly #entries: (E | undefined)[] = [];
  readonly #queries: (Uint8Array | undefined)[] = [];
  readonly #questions: (Question | undefined)[] = [];
  #sentAt = new Float64Array(INITIAL_SLOTS);
  #reused = new Uint8Array(INITIAL_SLOTS);
  /** The question's name octets at slot * NAME_ROOM, its type and class, when #named[slot] is 1. */
  #names = new Uint8Array(INITIAL_SLOTS * NAME_ROOM);
  #named = new Uint8Array(INITIAL_SLOTS);
  #types = new Uint16Array(INITIAL_SLOTS);
  #classes = new Uint16Array(INITIAL_SLOTS);
  readonly #idOfSlot: number[] = [];
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
    if (slot >= this.#sentAt.length) this.#grow();
    this.#entries[slot] = entry;
    const named = question !== undefined && copyQuestionName(query, this.#names, slot * NAME_ROOM, NAME_ROOM);
    this.#named[slot] = named ? 1 : 0;
    if (named) {
      this.#types[slot] = question.type;
      this.#classes[slot] = question.qclass;
    }
    // The query and its parse only for a name too long to copy: otherwise the slot keeps nothing of the
    // query's objects, and its parse (about 100 bytes) dies young instead of being copied by the scavenges
    // it lives through (in flight a round trip, and longer at the maximum).
    this.#queries[slot] = named ? undefined : query;
    this.#questions[slot] = named ? undefined : question;
    this.#sentAt[slot] = sentAt;
    this.#reused[slot] = reused ? 1 : 0;
    this.#idOfSlot[slot] = id;
    this.#index(id, slot);
    this.#size++;
  }

  /** When the query with `id` was sent, or NaN if none is in flight. */
  sentAt(id: number): number {
    const slot = this.#slotAt(this.#position(id));
    return slot < 0 ? NaN : (this.#sentAt[slot] ?? NaN);
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
    this.#takenSentAt = this.#sentAt[slot] ?? NaN;
    this.#release(at, slot);
    return entry;
  }

  /** Whether the answer's question is the one asked in `slot` (a query without one matches none). */
  #sameAsAsked(slot: number, answer: Uint8Array, question: Question): boolean {
    if (this.#named[slot] === 1)
      return (
        this.#types[slot] === question.type &&
        this.#classes[slot] === question.qclass &&
        sameNameExpanding(answer, question.start, this.#names, slot * NAME_ROOM)
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
      picked.push([entry, this.#sentAt[slot] ?? 0]);
      this.#release(this.#position(this.#idOfSlot[slot] ?? 0), slot);
    }
    for (const [entry, sentAt] of picked) visit(entry, sentAt);
  }

  /** Empties the table; returns what was in it, each with whether its connection had been used before. */
  drain(): { entry: E; reused: boolean }[] {
    const out: { entry: E; reused: boolean }[] = [];
    for (let slot = 0; slot < this.#entries.length; slot++) {
      const entry = this.#entries[slot];
      if (entry === undefined) continue;
      out.push({ entry, reused: this.#reused[slot] === 1 });
      this.#release(this.#position(this.#idOfSlot[slot] ?? 0), slot);
    }
    return out;
  }

  #grow(): void {
    this.#sentAt = grown(this.#sentAt, new Float64Array(this.#sentAt.length * 2));
    this.#reused = grown(this.#reused, new Uint8Array(this.#reused.length * 2));
    this.#names = grown(this.#names, new Uint8Array(this.#names.length * 2));
    this.#named = grown(this.#named, new Uint8Array(this.#named.length * 2));
    this.#types = grown(this.#types, new Uint16Array(this.#types.length * 2));
    this.#classes = grown(this.#classes, new Uint16Array(this.#classes.length * 2));
    const ids = this.#indexIds;
    const slots = this.#indexSlots;
    this.#indexIds = new Uint16Array(ids.length * 2);
    this.#indexSlots = new Int32Array(slots.length * 2);
    this.#indexMask = ids.length * 2 - 1;
    for (let at = 0; at < slots.length; at++) {
      const slot = slots[at] ?? 0;
      if (slot !== 0) this.#index(ids[at] ?? 0, slot - 1);
    }
  }

  /** Where `id` is in the index, or -1. IDs are random: the low bits are a good home. */
  #position(id: number): number {
    const mask = this.#indexMask;
    for (let at = id & mask; ; at = (at + 1) & mask) {
      if (this.#indexSlots[at] === 0) return -1;
      if (this.#indexIds[at] === id) return at;
    }
  }

  /** The slot indexed at position `at` (#position's), or -1 for none. */
  #slotAt(at: number): number {
    return at < 0 ? -1 : (this.#indexSlots[at] ?? 0) - 1;
  }

  /** Indexes `id` (not in the index) at `slot`. At most a quarter of the positions are taken. */
  #index(id: number, slot: number): void {
    const mask = this.#indexMask;
    let at = id & mask;
    while (this.#indexSlots[at] !== 0) at = (at + 1) & mask;
    this.#indexIds[at] = id;
    this.#indexSlots[at] = slot + 1;
  }

  /** Empties the index at position `at`, pulling later entries of its probe run back (no tombstones). */
  #unindex(at: number): void {
    if (at < 0) return;
    let hole = at;
    const mask = this.#indexMask;
    for (let next = (hole + 1) & mask; this.#indexSlots[next] !== 0; next = (next + 1) & mask) {
      const home = (this.#indexIds[next] ?? 0) & mask;
      // The entry at `next` may move to `hole` only if its home is not between hole and next (cyclically).
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        this.#indexIds[hole] = this.#indexIds[next] ?? 0;
        this.#indexSlots[hole] = this.#indexSlots[next] ?? 0;
        hole = next;
      }
    }
    this.#indexSlots[hole] = 0;
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

/** `to` (twice the size) with `from` copied to its start. */
function grown<T extends Uint8Array | Uint16Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
