/**
 * The queries waiting on one connection, by our own message ID (hickory's DnsMultiplexer rules): IDs are
 * random and never reused while in flight, so answers are matched by ID and question (RFC 7766 sec. 7)
 * whatever order they come in.
 */
import { randomFillSync } from 'node:crypto';

export interface Keyed {
  /** The question key the answer must carry. */
  readonly key: string;
}

const ID_BATCH = 512;

export class InFlightTable<E extends Keyed> {
  readonly #entries = new Map<number, E>();
  readonly #ids = new Uint16Array(ID_BATCH);
  #next = ID_BATCH;

  get size(): number {
    return this.#entries.size;
  }

  /** A random ID not in flight on this connection (RFC 5452 sec. 9.2: unpredictable over 0-65535). */
  allocateId(): number {
    for (;;) {
      if (this.#next >= ID_BATCH) {
        randomFillSync(this.#ids);
        this.#next = 0;
      }
      const id = this.#ids[this.#next++] ?? 0;
      if (!this.#entries.has(id)) return id;
    }
  }

  add(id: number, entry: E): void {
    this.#entries.set(id, entry);
  }

  /** Removes and returns the entry if the ID and question both match, else undefined (the answer is dropped). */
  take(id: number, key: string | undefined): E | undefined {
    const entry = this.#entries.get(id);
    // An answer without a question (a FORMERR, say) can only be matched by ID.
    if (entry === undefined || (key !== undefined && key !== entry.key)) return undefined;
    this.#entries.delete(id);
    return entry;
  }

  remove(id: number): E | undefined {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    return entry;
  }

  /** Empties the table; returns what was in it. */
  drain(): E[] {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    return entries;
  }
}
