/**
 * A least-recently-used map bounded by entry count and by bytes: a ChurnMap from key to entry (not a Map:
 * see util/churn-map.ts), and the entries in a doubly linked list from the least to the most recently used.
 * get, set and eviction are O(1).
 *
 * The list is ours, not a Map's insertion order: evicting through `map.keys().next()` walked over every
 * entry deleted since V8 last rehashed the table, so with each insert evicting one entry the cost grew
 * with the store. The links live in the entries themselves (an intrusive list): under many distinct names
 * every answer is stored and later evicted, and a separate slot object per entry was one more object for
 * the old generation to collect.
 */
import { ChurnMap, hashOf } from '../util/churn-map.js';

export interface LruNode {
  /** What the entry costs in memory, roughly: its bytes plus a fixed overhead. */
  readonly bytes: number;
  /** Set by the store: the entry's key, and its neighbours toward the older and the newer end. */
  lruKey?: string | undefined;
  older?: LruNode | undefined;
  newer?: LruNode | undefined;
}

export class LruStore<V extends LruNode> {
  readonly #map = new ChurnMap<V>();
  /** The least recently used entry: the next to evict. */
  #oldest: V | undefined;
  #newest: V | undefined;
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
  get(key: string, hash = hashOf(key)): V | undefined {
    const entry = this.#map.get(key, hash);
    if (entry === undefined) return undefined;
    if (entry !== this.#newest) {
      this.#unlink(entry);
      this.#append(entry);
    }
    return entry;
  }

  peek(key: string, hash = hashOf(key)): V | undefined {
    return this.#map.get(key, hash);
  }

  /** The least recently used entry: the one the next eviction takes. */
  get oldest(): V | undefined {
    return this.#oldest;
  }

  /** True when storing an entry of `bytes` would evict another. */
  wouldEvict(bytes: number): boolean {
    return this.#map.size + 1 > this.#maxEntries || this.#bytes + bytes > this.#maxBytes;
  }

  /** Stores (or replaces) the entry, then evicts the least recently used until both bounds hold. */
  set(key: string, value: V, hash = hashOf(key)): boolean {
    this.delete(key, hash);
    if (value.bytes > this.#maxBytes || this.#maxEntries === 0) return false;
    value.lruKey = key;
    this.#map.set(key, value, hash);
    this.#append(value);
    this.#bytes += value.bytes;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#oldest;
      if (oldest?.lruKey === undefined) break;
      this.delete(oldest.lruKey);
      this.evictions++;
    }
    return true;
  }

  delete(key: string, hash = hashOf(key)): boolean {
    const entry = this.#map.get(key, hash);
    if (entry === undefined) return false;
    this.#map.delete(key, hash);
    this.#unlink(entry);
    this.#bytes -= entry.bytes;
    return true;
  }

  /** Removes every entry `match` accepts; returns how many. */
  deleteWhere(match: (value: V, key: string) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.#map.entries()) {
      if (match(entry, key) && this.delete(key)) removed++;
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

  #append(entry: V): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: V): void {
    if (entry.older === undefined) this.#oldest = entry.newer as V | undefined;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older as V | undefined;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}
