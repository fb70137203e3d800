/**
 * The cached answers: each kept as the upstream's wire bytes (made shareable once), with the offsets of
 * its TTL fields found once at store time, so a hit is a copy plus a few 32-bit writes.
 */
import { answerForClient, shareableAnswer } from '../dns/cached-answer.js';
import { recordTtls } from '../dns/record-ttls.js';
import { parseMessage, type ParsedMessage } from '../dns/wire.js';
import type { UpstreamAnswer } from '../upstream/upstream.js';
import type { QueryKey } from './cache-key.js';
import { Doorkeeper } from './doorkeeper.js';
import { LruStore, type LruNode } from './lru-store.js';
import { partitionOf, type Partition } from './privacy.js';
import { cachePlan, type EntryKind, type TtlLimits } from './ttl-policy.js';
import { EntrySlab } from './entry-slab.js';
import { hashOf } from '../util/churn-map.js';
import { viewOf } from '../dns/bytes.js';

/** Where a stored answer's TTL fields are, and the TTL each carried when stored. */
interface TtlFields {
  readonly offsets: readonly number[];
  readonly ttls: readonly number[];
}

/**
 * One stored answer. A class, so every entry has one shape; its LRU links live in it (lru-store.ts). What
 * only a hit needs (the parse, the TTL fields) is made on the first hit: under many distinct names most
 * entries are never hit, and each object they hold is work for the old generation's collector.
 */
export class CacheEntry implements LruNode {
  lruKey: string | undefined = undefined;
  older: LruNode | undefined = undefined;
  newer: LruNode | undefined = undefined;
  msg: ParsedMessage | undefined = undefined;
  fields: TtlFields | undefined = undefined;
  hits = 0;
  prefetched = false;

  constructor(
    readonly partition: Partition,
    readonly kind: EntryKind,
    /** The stored answer is `length` bytes at `start` of `slab` (entry-slab.ts): no Buffer view per entry. */
    readonly slab: Buffer,
    readonly start: number,
    readonly length: number,
    /** Whole clock milliseconds: an integer stays a small integer in the object, a fraction is a heap number. */
    readonly storedAt: number,
    /** Whole seconds it was stored for. */
    readonly lifetime: number,
    readonly bytes: number,
  ) {}

  /** The stored answer's bytes (a view made on each call: a hit's work, not the entry's memory). */
  get wire(): Buffer {
    return viewOf(this.slab, this.start, this.start + this.length);
  }

  /** Clock milliseconds. */
  get expiresAt(): number {
    return this.storedAt + this.lifetime * 1000;
  }
}

export interface Lookup {
  readonly entry: CacheEntry;
  readonly fresh: boolean;
}

/**
 * Bookkeeping beyond the answer's bytes: the key, the offsets, the parsed message and the object headers.
 * Measured on Node 20: 20,000 cached A answers grew heap plus external memory by about 1.3 KB each more
 * than the same traffic uncached did (the earlier guess of 256 made maxBytes a third of the real cost).
 * Measured again after entries shrank, the churning Maps went (util/churn-map.ts) and answers moved into
 * slabs of their own (entry-slab.ts): 12,822 entries (the default 16 MiB, full) cost 5.2 MB after a full
 * collection, about 400 bytes each, so maxBytes overstates the cache's memory about 3 times. Since entries
 * keep an offset into their slab instead of a Buffer view, and whole milliseconds: 1.0 MB less for 12,293
 * entries (heap snapshots after the same fill, 11.66 -> 10.65 MB in all), about 320 bytes each. Kept: a
 * bound that errs high is still a bound, and the default stays where the daemon's peak memory was measured.
 */
const ENTRY_OVERHEAD = 1200;

export class AnswerStore {
  readonly #lru: LruStore<CacheEntry>;
  readonly #doorkeeper = new Doorkeeper();
  readonly #slab = new EntrySlab();
  /** Answers not stored because they would have pushed out a live one on their first sight. */
  declined = 0;
  readonly #limits: TtlLimits;
  /** Milliseconds past expiry an entry is kept for serve-stale; 0 without it. */
  readonly #staleMs: number;

  constructor(options: { maxEntries: number; maxBytes: number; limits: TtlLimits; staleMs: number }) {
    this.#lru = new LruStore(options.maxEntries, options.maxBytes);
    this.#limits = options.limits;
    this.#staleMs = options.staleMs;
  }

  get size(): number {
    return this.#lru.size;
  }
  get bytes(): number {
    return this.#lru.bytes;
  }
  get evictions(): number {
    return this.#lru.evictions;
  }

  /**
   * The best entry for the key among the partitions (fresh first, in partition order), or a stale one.
   * `keyHash` is the key's hashOf(), computed once by the caller for its own tables too.
   */
  lookup(key: QueryKey, keyHash: number, partitions: readonly Partition[], now: number): Lookup | undefined {
    let stale: CacheEntry | undefined;
    for (const partition of partitions) {
      const id = storeKey(partition, key);
      const hash = id === key ? keyHash : hashOf(id);
      const entry = this.#lru.get(id, hash);
      if (entry === undefined) continue;
      if (now < entry.expiresAt) return { entry, fresh: true };
      if (now >= entry.expiresAt + this.#staleMs) this.#lru.delete(id, hash);
      else stale ??= entry;
    }
    return stale === undefined ? undefined : { entry: stale, fresh: false };
  }

  /**
   * Stores an upstream answer if the TTL policy allows and its partition is servable. A SERVFAIL never
   * replaces data that serve-stale could still use.
   */
  insert(
    key: QueryKey,
    keyHash: number,
    upstream: UpstreamAnswer,
    partitions: readonly Partition[],
    now: number,
  ): CacheEntry | undefined {
    const partition = partitionOf(upstream);
    if (!partitions.includes(partition)) return undefined;
    const id = storeKey(partition, key);
    const hash = id === key ? keyHash : hashOf(id);
    const { msg } = upstream;
    const recordCount = msg.ancount + msg.nscount + msg.arcount;
    // Decided before any work on the answer (under a scan of new names most answers stop here), for the
    // answers the TTL policy could store: no TC, and NOERROR, SERVFAIL or NXDOMAIN (ttl-policy.ts).
    if (!storableHeader(upstream.answer)) return undefined;
    if (!this.#admit(id, hash, entryBytes(upstream.answer.length, id, recordCount), now)) return undefined;
    // Planned on the upstream's own parse, before any copy: a second parse of the copy cost as much as the
    // rest of the insert.
    const records = recordTtls(upstream.answer, msg);
    const plan = cachePlan(upstream.answer, records, (msg.opt?.ttlField ?? 0) >>> 24, this.#limits);
    if (plan === undefined) return undefined;
    if (plan.kind === 'servfail' && this.#staleMs > 0 && this.#lru.peek(id, hash) !== undefined)
      return undefined;
    const answer = shareableAnswer(upstream.answer, upstream.msg);
    const start = this.#slab.store(answer);
    const entry = new CacheEntry(
      partition,
      plan.kind,
      this.#slab.last,
      start,
      answer.length,
      Math.floor(now),
      plan.lifetime,
      entryBytes(answer.length, id, records.length),
    );
    return this.#lru.set(id, entry, hash) ? entry : undefined;
  }

  /**
   * Whether to store an answer of about `bytes` under `id`. Always while there is room, or when the entry
   * it would push out has expired (beyond serve-stale's window); when it would push out a live one, only if
   * this key was asked for recently (doorkeeper.ts): a name asked once does not evict a name in use.
   */
  #admit(id: string, hash: number, bytes: number, now: number): boolean {
    if (!this.#lru.wouldEvict(bytes)) return true;
    const oldest = this.#lru.oldest;
    if (oldest === undefined || now >= oldest.expiresAt + this.#staleMs) return true;
    if (this.#doorkeeper.seenOrAdd(id, hash)) return true;
    this.declined++;
    return false;
  }

  /** The entry as this client's answer: TTLs counted down by whole elapsed seconds, or all `staleTtl`. */
  answer(entry: CacheEntry, query: Buffer, queryMsg: ParsedMessage, now: number, staleTtl?: number): Buffer {
    const elapsed = Math.floor((now - entry.storedAt) / 1000);
    const wire = entry.wire;
    const msg = (entry.msg ??= parseMessage(wire));
    const fields = (entry.fields ??= this.#ttlFields(wire, msg));
    const values = fields.ttls.map((t) => staleTtl ?? Math.max(0, t - elapsed));
    return answerForClient(wire, msg, { offsets: fields.offsets, values }, query, queryMsg);
  }

  /** The stored answer's TTL fields, planned as insert() planned them (the records are the same). */
  #ttlFields(wire: Buffer, msg: ParsedMessage): TtlFields {
    const records = recordTtls(wire, msg);
    const plan = cachePlan(wire, records, (msg.opt?.ttlField ?? 0) >>> 24, this.#limits);
    return { offsets: records.map((r) => r.offset), ttls: plan?.ttls ?? records.map((r) => r.ttl) };
  }

  /** Removes every entry, or those of one name (any type, class or partition); returns how many. */
  flush(name?: string): number {
    return name === undefined ? this.#lru.clear() : this.#lru.deleteWhere((_e, id) => nameOfId(id) === name);
  }
}

/**
 * The LRU key: the authenticated partition (the one every Strict daemon uses) adds nothing. A query key
 * always ends in a digit (the class, or the flag bits), so the other partition's suffix never collides.
 */
function storeKey(partition: Partition, key: string): string {
  return partition === 'authenticated' ? key : `${key}#u`;
}

/** What an entry counts against maxBytes: its answer, its key (UTF-16), its TTL fields and ENTRY_OVERHEAD. */
function entryBytes(wireLength: number, id: string, records: number): number {
  return wireLength + id.length * 2 + records * 16 + ENTRY_OVERHEAD;
}

/** The lower-cased name (final dot kept) of an LRU key: what precedes `/TYPE/CLASS`, whatever follows. */
function nameOfId(id: string): string {
  return id.slice(0, id.lastIndexOf('/', id.lastIndexOf('/') - 1));
}

/** No TC, and NOERROR, SERVFAIL or NXDOMAIN: the answers ttl-policy.ts may store, told by the header alone. */
function storableHeader(answer: Buffer): boolean {
  const rcode = (answer[3] ?? 0) & 0x0f;
  return ((answer[2] ?? 0) & 0x02) === 0 && (rcode === 0 || rcode === 2 || rcode === 3);
}
