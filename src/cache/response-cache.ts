/**
 * The cache in front of the resolver: answers repeated questions from memory, coalesces identical
 * questions in flight into one upstream query, refreshes popular entries before they expire (prefetch),
 * and, when enabled, serves expired answers when the upstreams cannot answer (RFC 8767).
 */
import { Buffer } from 'node:buffer';
import { errorAnswer } from '../dns/edns.js';
import { answerForClient, shareableAnswer } from '../dns/cached-answer.js';
import { parseMessage, RCODE, type ParsedMessage } from '../dns/wire.js';
import type { ResolveResult } from '../resolver/resolver.js';
import { deliver, type ResolveListener } from '../resolver/resolve-listener.js';
import type { UsageProfile } from '../upstream/usage-profile.js';
import type { Clock } from '../util/clock.js';
import { ChurnMap, hashOf } from '../util/churn-map.js';
import type { Logger } from '../util/logger.js';
import { AnswerStore, type CacheEntry } from './answer-store.js';
import { normaliseName, queryKey, type QueryKey } from './cache-key.js';
import { DEFAULT_CACHE_TUNING, type CacheConfig, type CacheTuning } from './cache-options.js';
import { servablePartitions, type Partition } from './privacy.js';

/** What the cache needs of the resolver. */
export interface Resolving {
  /** Calls `done` exactly once. `at`: the clock's reading now, if the caller has it. */
  dispatch(query: Buffer, msg: ParsedMessage, done: ResolveListener, at?: number): void;
}

export interface ResponseCacheOptions {
  readonly config: CacheConfig;
  readonly tuning?: Partial<CacheTuning>;
  /** The usage profiles of the configured upstreams: the strictest decides what is served (privacy.ts). */
  readonly profiles: readonly UsageProfile[];
  readonly resolver: Resolving;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  prefetches: number;
  staleServed: number;
  evictions: number;
  /** Answers not stored on their first sight because they would have pushed out a live one. */
  declined: number;
  coalesced: number;
  flushes: number;
}

/** What a resolution gives its waiters: the result, and the entry it was stored as, if it was. */
type Waiter = (result: ResolveResult, entry: CacheEntry | undefined) => void;

/**
 * One upstream resolution in progress: who asked first, and who asked the same since. The followers'
 * list is made by the first of them: most questions are not coalesced, and every object a miss leaves
 * in flight is work for the collector (under load a query stays in flight long enough to be promoted).
 * It is also the resolver's listener for the resolution (resolve-listener.ts): no closure per miss.
 */
class Fetch {
  followers: Waiter[] | undefined = undefined;

  constructor(
    readonly key: QueryKey,
    readonly hash: number,
    /** The cache's generation when the resolution started: a flush since means the answer is not stored. */
    readonly generation: number,
    /** Answered before the store's work, so it gets no entry (#landed). */
    readonly first: ResolveListener,
    /** The cache's one handler for a resolution that landed. */
    readonly landed: (fetch: Fetch, result: ResolveResult) => void,
  ) {}

  resolved(result: ResolveResult): void {
    this.landed(this, result);
  }
}

const failed = (r: ResolveResult): boolean =>
  r.via === undefined || ((r.via.answer.answer[3] ?? 0) & 0x0f) === RCODE.SERVFAIL;

export class ResponseCache {
  readonly #store: AnswerStore;
  readonly #config: CacheConfig;
  readonly #tuning: CacheTuning;
  #partitions: readonly Partition[];
  readonly #resolver: Resolving;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** Not a Map: util/churn-map.ts. */
  readonly #inFlight = new ChurnMap<Fetch>();
  readonly #counters = { hits: 0, misses: 0, prefetches: 0, staleServed: 0, coalesced: 0, flushes: 0 };
  /** Bumped by every flush: an answer asked for before it is not stored after it. */
  #generation = 0;

  constructor(options: ResponseCacheOptions) {
    this.#config = options.config;
    this.#tuning = { ...DEFAULT_CACHE_TUNING, ...options.tuning };
    this.#partitions = servablePartitions(options.profiles);
    this.#resolver = options.resolver;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#store = new AnswerStore({
      maxEntries: options.config.maxEntries,
      maxBytes: options.config.maxBytes,
      limits: {
        maxTtl: options.config.maxTtl,
        minTtl: options.config.minTtl,
        servfailTtl: this.#tuning.servfailTtl,
      },
      staleMs: options.config.serveStale ? options.config.maxStaleAge * 1000 : 0,
    });
  }

  /** The promise form of dispatch(). */
  resolve(query: Buffer, msg: ParsedMessage): Promise<ResolveResult> {
    return new Promise((resolve) => {
      this.dispatch(query, msg, resolve);
    });
  }

  /** Answers from the cache when it can, else through the resolver (once per identical question in flight). */
  dispatch(query: Buffer, msg: ParsedMessage, done: ResolveListener): void {
    const key = queryKey(query, msg);
    if (key === undefined) {
      this.#resolver.dispatch(query, msg, done);
      return;
    }
    const now = this.#clock.now();
    const hash = hashOf(key);
    const found = this.#store.lookup(key, hash, this.#partitions, now);
    if (found?.fresh === true) {
      this.#counters.hits++;
      found.entry.hits++;
      this.#maybePrefetch(found.entry, key, query, msg, now);
      deliver(done, { answer: this.#store.answer(found.entry, query, msg, now) });
      return;
    }
    this.#counters.misses++;
    if (found === undefined) {
      this.#join(key, hash, query, msg, done, now);
      return;
    }
    this.#missWithStale(key, hash, query, msg, found.entry).then(
      (result) => {
        deliver(done, result);
      },
      (err: unknown) => {
        this.#logger.error('cache failed to answer', { cause: String(err) });
        deliver(done, { answer: errorAnswer(query, msg, RCODE.SERVFAIL) });
      },
    );
  }

  /**
   * Waits on the resolution in flight for this question, or starts it: the client that starts it gets
   * the upstream's result as it is, a coalesced one its own copy (#forFollower).
   */
  #join(
    key: QueryKey,
    hash: number,
    query: Buffer,
    msg: ParsedMessage,
    done: ResolveListener,
    at?: number,
  ): void {
    const pending = this.#inFlight.get(key, hash);
    if (pending === undefined) {
      this.#fetch(key, hash, query, msg, done, at);
      return;
    }
    this.#counters.coalesced++;
    (pending.followers ??= []).push((result, entry) => {
      deliver(done, this.#forFollower(result, entry, query, msg));
    });
  }

  /** A miss with an expired entry at hand: the refresh, or the stale entry if the refresh is late or fails. */
  async #missWithStale(
    key: QueryKey,
    hash: number,
    query: Buffer,
    msg: ParsedMessage,
    stale: CacheEntry,
  ): Promise<ResolveResult> {
    const pending = new Promise<ResolveResult>((resolve) => {
      this.#join(key, hash, query, msg, resolve);
    });
    const result = await this.#withinStaleTimer(pending);
    if (result !== undefined && !failed(result)) return result;
    // RFC 8767 sec. 5: no (good) answer in time; the refresh goes on and updates the cache when it lands.
    this.#counters.staleServed++;
    this.#logger.debug('served stale', { q: key });
    return { answer: this.#store.answer(stale, query, msg, this.#clock.now(), this.#tuning.staleTtl) };
  }

  /** The answer, or undefined when the client-response timer fires first. */
  async #withinStaleTimer(pending: Promise<ResolveResult>): Promise<ResolveResult | undefined> {
    let timer: { clear(): void } | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = this.#clock.setTimeout(() => {
        resolve(undefined);
      }, this.#tuning.staleAnswerTimeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      timer?.clear();
    }
  }

  /** One upstream resolution, shared by every identical question that arrives while it runs. */
  #fetch(
    key: QueryKey,
    hash: number,
    query: Buffer,
    msg: ParsedMessage,
    first: ResolveListener,
    at?: number,
  ): void {
    const fetch = new Fetch(key, hash, this.#generation, first, this.#landed);
    this.#inFlight.set(key, fetch, hash);
    this.#resolver.dispatch(query, msg, fetch, at);
  }

  /** A resolution landed: the first client answered, the answer stored, the followers answered. */
  readonly #landed = (fetch: Fetch, result: ResolveResult): void => {
    const { key, hash } = fetch;
    this.#inFlight.deleteIf(key, fetch, hash);
    // The client that asked first gets its answer before the store's work: its answer is its own copy
    // already (resolver.ts), it needs no entry, and storing (TTL plan, copy, LRU) was on its path.
    try {
      deliver(fetch.first, result);
    } catch (err) {
      this.#logger.error('could not answer a waiting client', { q: key, cause: String(err) });
    }
    let entry: CacheEntry | undefined;
    try {
      if (result.via !== undefined && fetch.generation === this.#generation)
        entry = this.#store.insert(
          key,
          hash,
          result.via.answer,
          this.#partitions,
          result.via.answer.receivedAt ?? this.#clock.now(),
        );
    } catch (err) {
      // Not stored, but every waiting client still gets the answer.
      this.#logger.error('could not store an answer', { q: key, cause: String(err) });
    }
    if (fetch.followers !== undefined)
      for (const follower of fetch.followers) this.#notify(key, follower, result, entry);
  };

  #notify(key: QueryKey, waiter: Waiter, result: ResolveResult, entry: CacheEntry | undefined): void {
    try {
      waiter(result, entry);
    } catch (err) {
      this.#logger.error('could not answer a waiting client', { q: key, cause: String(err) });
    }
  }

  /** A coalesced client's own result: the shared one with its ID, flags, question case and EDNS shape. */
  #forFollower(
    result: ResolveResult,
    entry: CacheEntry | undefined,
    query: Buffer,
    msg: ParsedMessage,
  ): ResolveResult {
    return { ...result, answer: this.#followerAnswer(result, entry, query, msg) };
  }

  #followerAnswer(
    result: ResolveResult,
    entry: CacheEntry | undefined,
    query: Buffer,
    msg: ParsedMessage,
  ): Buffer {
    if (entry !== undefined) return this.#store.answer(entry, query, msg, this.#clock.now());
    const via = result.via;
    if (via === undefined) return errorAnswer(query, msg, RCODE.SERVFAIL);
    const wire = shareableAnswer(via.answer.answer, via.answer.msg);
    return answerForClient(wire, parseMessage(wire), { offsets: [], values: [] }, query, msg);
  }

  /** A popular entry in the last part of its lifetime is refreshed once, in the background. */
  #maybePrefetch(entry: CacheEntry, key: QueryKey, query: Buffer, msg: ParsedMessage, now: number): void {
    if (!this.#config.prefetch || entry.prefetched || entry.kind === 'servfail') return;
    if (entry.hits < this.#tuning.prefetchMinHits) return;
    if (entry.expiresAt - now > entry.lifetime * 1000 * this.#tuning.prefetchWindow) return;
    if (this.#inFlight.has(key)) return;
    entry.prefetched = true;
    this.#counters.prefetches++;
    // The client's bytes may be reused by its listener once answered: the refresh keeps its own copy.
    const copy = Buffer.from(query);
    this.#fetch(key, hashOf(key), copy, msg, (result) => {
      if (result.error !== undefined)
        this.#logger.debug('prefetch failed', { q: key, cause: result.error.message });
    });
  }

  /**
   * Empties the cache, or removes one name (every type). Call it when the network changes (answers may
   * differ behind another resolver) or, through upstreamsChanged(), when the upstream configuration does.
   */
  flush(name?: string): number {
    this.#generation++;
    this.#counters.flushes++;
    return this.#store.flush(name === undefined ? undefined : normaliseName(name));
  }

  /**
   * For the reload code, after the upstream configuration changed: answers from the old upstreams no
   * longer hold, and the new profiles may change which partitions are served (privacy.ts).
   */
  upstreamsChanged(profiles?: readonly UsageProfile[]): number {
    if (profiles !== undefined) this.#partitions = servablePartitions(profiles);
    return this.flush();
  }

  stats(): CacheStats {
    return {
      entries: this.#store.size,
      bytes: this.#store.bytes,
      evictions: this.#store.evictions,
      declined: this.#store.declined,
      ...this.#counters,
    };
  }
}
