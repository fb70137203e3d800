/**
 * A least-recently-used map bounded by entry count and by bytes. A Map iterates in insertion order, so
 * re-inserting on a hit keeps the least recently used entry first: get, set and eviction are O(1).
 * A hit on an entry already in the newer half is not re-inserted (a Map delete plus set was the largest
 * cost of a cache hit): eviction order is then LRU up to half the store, as in CLOCK-like caches.
 */
export interface Sized {
  /** What the entry costs in memory, roughly: its bytes plus a fixed overhead. */
  readonly bytes: number;
}

interface Slot<V> {
  readonly value: V;
  /** When it was last (re-)inserted, in insertions. */
  seq: number;
}

export class LruStore<V extends Sized> {
  readonly #map = new Map<string, Slot<V>>();
  #seq = 0;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;
  evictions = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The entry, now the most recently used one. */
  get(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot !== undefined && this.#seq - slot.seq >= this.#map.size / 2) {
      this.#map.delete(key);
      slot.seq = ++this.#seq;
      this.#map.set(key, slot);
    }
    return slot?.value;
  }

  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** Stores (or replaces) the entry, then evicts the least recently used until both bounds hold. */
  set(key: string, value: V): boolean {
    this.delete(key);
    if (value.bytes > this.#maxBytes || this.#maxEntries === 0) return false;
    this.#map.set(key, { value, seq: ++this.#seq });
    this.#bytes += value.bytes;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
      this.evictions++;
    }
    return true;
  }

  delete(key: string): boolean {
    const slot = this.#map.get(key);
    if (slot === undefined) return false;
    this.#map.delete(key);
    this.#bytes -= slot.value.bytes;
    return true;
  }

  /** Removes every entry `match` accepts; returns how many. */
  deleteWhere(match: (value: V, key: string) => boolean): number {
    let removed = 0;
    for (const [key, slot] of this.#map) {
      if (match(slot.value, key) && this.delete(key)) removed++;
    }
    return removed;
  }

  clear(): number {
    const n = this.#map.size;
    this.#map.clear();
    this.#bytes = 0;
    return n;
  }
}
