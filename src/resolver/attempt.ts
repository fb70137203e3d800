/**
 * One try of one query at one upstream: the upstream's AttemptSink and the try's deadline in one object,
 * so a forwarded query costs the resolver two objects (its job and this) rather than a chain of promises.
 */
import { QueryTimeoutError } from '../errors.js';
import { parseMessage, type ParsedMessage } from '../dns/wire.js';
import type { Upstream, UpstreamAnswer, AttemptSink } from '../upstream/upstream.js';
import { callListener, type AbortListener, type DeadlineList, type Expiring } from '../util/deadline.js';
import type { UpstreamHealth } from './upstream-health.js';
import type { ResolveListener } from './resolve-listener.js';

export interface Entry {
  readonly upstream: Upstream;
  readonly health: UpstreamHealth;
}

/** One client query on its way through the resolver. */
export interface Job {
  readonly query: Buffer;
  /**
   * The query's parse until its first attempt is sent; a later attempt or a SERVFAIL parses the query
   * again (parsed, below). A query's parse is about 100 bytes, and what a query keeps while it waits
   * on its upstream is what each scavenge of the young generation copies.
   */
  msg: ParsedMessage | undefined;
  /** Whether the client's query had EDNS (RFC 6891): its answer then has an OPT record too. */
  readonly edns: boolean;
  readonly done: ResolveListener;
  readonly generation: number;
  /** Clock milliseconds: the end-to-end deadline. */
  readonly deadline: number;
  /** Upstreams in the order to try; a requeued one is appended (to a copy: the list may be shared). */
  candidates: readonly Entry[];
  next: number;
  errors: Error[] | undefined;
  requeued: Entry[] | undefined;
  /** Attempts started and not yet ended: more than one after a hedge (resolver.ts, HEDGE_MS). */
  live: number;
  /** The client has its result: attempts still running only report to upstream health. */
  over: boolean;
}

/** How the resolver hears that an attempt ended: an answer, or the error. Called once per attempt. */
export type AttemptEnded = (attempt: Attempt, outcome: UpstreamAnswer | Error) => void;

export class Attempt implements Expiring, AttemptSink {
  expiresAt = 0;
  older: Expiring | undefined = undefined;
  newer: Expiring | undefined = undefined;
  list: DeadlineList | undefined = undefined;
  aborted = false;
  readonly job: Job;
  readonly entry: Entry;
  /** When the attempt started: whole milliseconds and the microseconds past them, both inline (resolver.ts). */
  readonly #startMs: number;
  readonly #startUs: number;
  /** How long this try may take (ms): half the query's time left, or all of it for the last candidate. */
  readonly budgetMs: number;
  readonly #ended: AttemptEnded;
  #over = false;
  /** Nearly always one listener (the connection holding the query); more only while a pool waits. */
  #listener: AbortListener | undefined;
  #more: AbortListener[] | undefined;

  constructor(job: Job, entry: Entry, startedAt: number, budgetMs: number, ended: AttemptEnded) {
    this.job = job;
    this.entry = entry;
    this.#startMs = Math.floor(startedAt);
    this.#startUs = Math.floor((startedAt - this.#startMs) * 1000);
    this.budgetMs = budgetMs;
    this.#ended = ended;
  }

  /** When the attempt started, to the microsecond: an answer's round trip (`dotstub query`'s query time). */
  startedAt(): number {
    return this.#startMs + this.#startUs / 1000;
  }

  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.aborted || this.#over) return;
    if (this.#listener === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.#listener === listener) this.#listener = undefined;
    else if (this.#more !== undefined) {
      const at = this.#more.indexOf(listener);
      if (at >= 0) this.#more.splice(at, 1);
    }
  }

  /** Answered, failed or expired: its outcome has gone to the resolver. */
  get ended(): boolean {
    return this.#over;
  }

  answered(answer: UpstreamAnswer): void {
    this.#end(answer);
  }

  failed(err: Error): void {
    this.#end(err);
  }

  /** The budget ran out: whoever holds the query lets go (and reports the timeout), or we report it. */
  expire(): void {
    if (this.#over) return;
    this.aborted = true;
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    if (first !== undefined) callListener(first);
    if (more !== undefined) for (const listener of more) callListener(listener);
    this.#end(new QueryTimeoutError());
  }

  #end(outcome: UpstreamAnswer | Error): void {
    if (this.#over) return;
    this.#over = true;
    this.#listener = undefined;
    this.#more = undefined;
    this.#ended(this, outcome);
  }
}

/** The job's query parsed: its own parse before the first send, a new one after (the bytes parsed once already). */
export function parsed(job: Job): ParsedMessage {
  return job.msg ?? parseMessage(job.query);
}

/** How often the job has requeued this upstream already. */
export function requeues(job: Job, entry: Entry): number {
  let n = 0;
  for (const e of job.requeued ?? []) if (e === entry) n++;
  return n;
}

/** Authentication and connect errors say more than "timed out": put them first in the report. */
export function mostSpecificFirst(errors: readonly Error[]): Error[] {
  const rank = (e: Error): number => ('reason' in e ? 0 : 'phase' in e ? 1 : 2);
  return [...errors].sort((a, b) => rank(a) - rank(b));
}
