/**
 * A least-recently-used map bounded by entry count and by bytes: a Map from key to slot, and the slots in
 * a doubly linked list from the least to the most recently used. get, set and eviction are O(1).
 *
 * The list is ours, not the Map's insertion order: evicting through `map.keys().next()` walks over every
 * entry deleted since V8 last rehashed the table, so with each insert evicting one entry the cost grew
 * with the store (the profile of dotstub under unique names showed the insert path as the largest
 * JavaScript cost after the UDP send).
 */
export interface Sized {
  /** What the entry costs in memory, roughly: its bytes plus a fixed overhead. */
  readonly bytes: number;
}

interface Slot<V> {
  readonly key: string;
  readonly value: V;
  /** Toward the least recently used end. */
  older: Slot<V> | undefined;
  /** Toward the most recently used end. */
  newer: Slot<V> | undefined;
}

export class LruStore<V extends Sized> {
  readonly #map = new Map<string, Slot<V>>();
  /** The least recently used slot: the next to evict. */
  #oldest: Slot<V> | undefined;
  #newest: Slot<V> | undefined;
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
    if (slot === undefined) return undefined;
    if (slot !== this.#newest) {
      this.#unlink(slot);
      this.#append(slot);
    }
    return slot.value;
  }

  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** Stores (or replaces) the entry, then evicts the least recently used until both bounds hold. */
  set(key: string, value: V): boolean {
    this.delete(key);
    if (value.bytes > this.#maxBytes || this.#maxEntries === 0) return false;
    const slot: Slot<V> = { key, value, older: undefined, newer: undefined };
    this.#map.set(key, slot);
    this.#append(slot);
    this.#bytes += value.bytes;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#oldest;
      if (oldest === undefined) break;
      this.delete(oldest.key);
      this.evictions++;
    }
    return true;
  }

  delete(key: string): boolean {
    const slot = this.#map.get(key);
    if (slot === undefined) return false;
    this.#map.delete(key);
    this.#unlink(slot);
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
    this.#oldest = undefined;
    this.#newest = undefined;
    this.#bytes = 0;
    return n;
  }

  #append(slot: Slot<V>): void {
    slot.older = this.#newest;
    slot.newer = undefined;
    if (this.#newest === undefined) this.#oldest = slot;
    else this.#newest.newer = slot;
    this.#newest = slot;
  }

  #unlink(slot: Slot<V>): void {
    if (slot.older === undefined) this.#oldest = slot.newer;
    else slot.older.newer = slot.newer;
    if (slot.newer === undefined) this.#newest = slot.older;
    else slot.newer.older = slot.older;
    slot.older = undefined;
    slot.newer = undefined;
  }
}
