/**
 * The queries waiting on one connection, by our own message ID (hickory's DnsMultiplexer rules): IDs are
 * random and never reused while in flight, so answers are matched by ID and question (RFC 7766 sec. 7)
 * whatever order they come in.
 */
import { randomFillSync } from 'node:crypto';

export interface PendingQuery<T> {
  readonly key: string;
  readonly sentAt: number;
  resolve(value: T): void;
  reject(err: Error): void;
}

const ID_BATCH = 512;

export class InFlightTable<T> {
  readonly #entries = new Map<number, PendingQuery<T>>();
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

  add(id: number, entry: PendingQuery<T>): void {
    this.#entries.set(id, entry);
  }

  /** Removes and returns the entry if the ID and question both match, else undefined (the answer is dropped). */
  take(id: number, key: string | undefined): PendingQuery<T> | undefined {
    const entry = this.#entries.get(id);
    // An answer without a question (a FORMERR, say) can only be matched by ID.
    if (entry === undefined || (key !== undefined && key !== entry.key)) return undefined;
    this.#entries.delete(id);
    return entry;
  }

  remove(id: number): PendingQuery<T> | undefined {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    return entry;
  }

  failAll(err: Error): void {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) entry.reject(err);
  }
}
