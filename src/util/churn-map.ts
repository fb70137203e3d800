/**
 * A string-keyed map for keys that come and go at query rate (answers in flight, cache entries): an
 * open-addressing hash table (linear probing, backward-shift deletion) over plain arrays, hashed by us.
 *
 * Not a Map. As entries churn, V8 rehashes a Map into a new table, and the old table keeps its stale
 * entries and a link to the new one (so that live iterators can follow). Once one old table had been
 * promoted to the old generation, the scavenger took it as a root: every later table, and every finished
 * query left in those tables, survived and was promoted in turn until the next full collection. Through
 * the cache's in-flight map alone, at 10,000 q/s in process: about 2 MB promoted per scavenge, against
 * 40-100 KB without. Here a resize drops the old arrays whole, and a deleted key leaves nothing behind.
 *
 * Not a prototype-less object (a V8 dictionary) either, as it was: a lookup with a key string made from
 * the wire first looks the string up in V8's string table (internalization), which holds every key ever
 * stored until the next full collection; a miss in a 12,000-entry cache cost about 1.8 µs (profile of
 * the cache alone), and each stored key left an internalized copy in the old generation.
 */
import { fnv1a } from './fnv1a.js';

/** The hash ChurnMap uses: callers that look a key up more than once compute it once and pass it. */
export const hashOf = fnv1a;

const MIN_CAPACITY = 16;

/** A stored hash is never 0: 0 marks an empty slot in the hash array (the hash 0 is stored as 1). */
const occupied = (hash: number): number => (hash === 0 ? 1 : hash);
/**
 * A table never shrinks below this many slots (80 KB of arrays at most). The cache's in-flight map swings
 * between tens and hundreds of questions within milliseconds at high load, and with shrinking allowed
 * down to 16 slots every swing of more than 4x reallocated and rehashed the table: at 50,000 q/s the
 * resizes were the cache's costliest function (0.2 µs a query of self time, perf). Shrinking still gives
 * back what a burst into the thousands took.
 */
const SHRINK_FLOOR = 4096;

export class ChurnMap<V> {
  #hashes = new Int32Array(0);
  #keys: (string | undefined)[] = [];
  #values: (V | undefined)[] = [];
  #mask = 0;
  #size = 0;

  constructor() {
    this.#allocate(MIN_CAPACITY);
  }

  get size(): number {
    return this.#size;
  }

  get(key: string, hash = hashOf(key)): V | undefined {
    const slot = this.#find(key, occupied(hash));
    return slot < 0 ? undefined : this.#values[slot];
  }

  has(key: string): boolean {
    return this.#find(key, occupied(hashOf(key))) >= 0;
  }

  set(key: string, value: V, hash = hashOf(key)): void {
    const h = occupied(hash);
    const slot = this.#find(key, h);
    if (slot >= 0) {
      this.#values[slot] = value;
      return;
    }
    const free = ~slot;
    this.#keys[free] = key;
    this.#hashes[free] = h;
    this.#values[free] = value;
    // At most half full: probe runs stay short.
    if (++this.#size * 2 > this.#keys.length) this.#resize(this.#keys.length * 2);
  }

  delete(key: string, hash = hashOf(key)): boolean {
    const slot = this.#find(key, occupied(hash));
    if (slot < 0) return false;
    this.#removeAt(slot);
    return true;
  }

  /** Deletes the key only while it still maps to `value` (not to what replaced it); true if it did. */
  deleteIf(key: string, value: V, hash = hashOf(key)): boolean {
    const slot = this.#find(key, occupied(hash));
    if (slot < 0 || this.#values[slot] !== value) return false;
    this.#removeAt(slot);
    return true;
  }

  #removeAt(slot: number): void {
    let hole = slot;
    const mask = this.#mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole, so no tombstones.
    for (let next = (hole + 1) & mask; this.#hashes[next] !== 0; next = (next + 1) & mask) {
      const home = (this.#hashes[next] ?? 0) & mask;
      // The entry at `next` may move to `hole` only if its home is not between hole and next (cyclically).
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        this.#keys[hole] = this.#keys[next];
        this.#hashes[hole] = this.#hashes[next] ?? 0;
        this.#values[hole] = this.#values[next];
        hole = next;
      }
    }
    this.#keys[hole] = undefined;
    this.#hashes[hole] = 0;
    this.#values[hole] = undefined;
    // Shrinks after a burst, so a table that once held many keys does not stay large.
    if (--this.#size * 8 < this.#keys.length && this.#keys.length > SHRINK_FLOOR)
      this.#resize(this.#keys.length / 2);
  }

  clear(): void {
    this.#allocate(MIN_CAPACITY);
    this.#size = 0;
  }

  /** A snapshot of the entries: safe to delete from the map while walking it. */
  entries(): [string, V][] {
    const out: [string, V][] = [];
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i];
      if (key !== undefined) out.push([key, this.#values[i] as V]);
    }
    return out;
  }

  /**
   * The key's slot, or the one's complement of the empty slot where it would go. `hash` is occupied()'s.
   * The probe reads only the hashes (an empty slot is a 0) and a key only when its hash matches: a miss in
   * a large table, the common case under many distinct names, then touches one cache line, not two.
   */
  #find(key: string, hash: number): number {
    const mask = this.#mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const h = this.#hashes[i];
      if (h === 0) return ~i;
      if (h === hash && this.#keys[i] === key) return i;
    }
  }

  /** Empty arrays of `capacity` (a power of two) slots; the old ones are dropped whole. */
  #allocate(capacity: number): void {
    this.#hashes = new Int32Array(capacity);
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }

  #resize(capacity: number): void {
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    this.#allocate(capacity);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key === undefined) continue;
      const hash = hashes[i] ?? 0;
      let slot = hash & this.#mask;
      while (this.#hashes[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#keys[slot] = key;
      this.#hashes[slot] = hash;
      this.#values[slot] = values[i];
    }
  }
}
