/**
 * A string-keyed map for keys that come and go at query rate (answers in flight, cache entries).
 *
 * Not a Map. As entries churn, V8 rehashes a Map into a new table, and the old table keeps its stale
 * entries and a link to the new one (so that live iterators can follow). Once one old table had been
 * promoted to the old generation, the scavenger took it as a root: every later table, and every finished
 * query left in those tables, survived and was promoted in turn until the next full collection. Through
 * the cache's in-flight map alone, at 10,000 q/s in process: about 2 MB promoted per scavenge, against
 * 40-100 KB with this. (The daemon's old "the cache costs 10-20 µs per query even when it stores nothing".)
 *
 * A prototype-less object is a dictionary in V8, a plain hash table: when it grows or shrinks the old
 * backing store is dropped whole, and a deleted key leaves a hole, not a stale value.
 */
export class ChurnMap<V> {
  #items: Record<string, V | undefined> = Object.create(null) as Record<string, V | undefined>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#items[key];
  }

  has(key: string): boolean {
    return this.#items[key] !== undefined;
  }

  /** `value` must not be undefined (undefined means absent). */
  set(key: string, value: V): void {
    if (this.#items[key] === undefined) this.#size++;
    this.#items[key] = value;
  }

  delete(key: string): boolean {
    if (this.#items[key] === undefined) return false;
    // The dictionary needs `delete`: setting undefined would keep the key's slot.
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    delete this.#items[key];
    this.#size--;
    return true;
  }

  clear(): void {
    this.#items = Object.create(null) as Record<string, V | undefined>;
    this.#size = 0;
  }

  /** A snapshot of the entries: safe to delete from the map while walking it. */
  entries(): [string, V][] {
    const out: [string, V][] = [];
    for (const key in this.#items) {
      const value = this.#items[key];
      if (value !== undefined) out.push([key, value]);
    }
    return out;
  }
}
