/**
 * resolve(query): pick upstreams in the configured order, under one end-to-end deadline (stubby's
 * `timeout`), failing over on any transport failure, and answer SERVFAIL when nothing works: promptly,
 * never silence (RFC 8310 sec. 5: in Strict, a hard failure and nothing in clear).
 */
import { AllUpstreamsFailedError, ConnectionClosedError, describeCause } from '../errors.js';
import { errorAnswer, toClientAnswer } from '../dns/edns.js';
import { localZoneAnswer } from '../dns/local-zone.js';
import { RCODE, type ParsedMessage } from '../dns/wire.js';
import type { Upstream, UpstreamAnswer } from '../upstream/upstream.js';
import type { Clock } from '../util/clock.js';
import { Deadlines } from '../util/deadline.js';
import type { Logger } from '../util/logger.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../util/backoff.js';
import type { QueryRouter } from './query-router.js';
import { Attempt, mostSpecificFirst, parsed, requeues, type Entry, type Job } from './attempt.js';
import { Hedge, HEDGE_MS, shouldHedge } from './hedge.js';
import { BackgroundProbes, PROBE_WAIT_MS } from './background-probe.js';
import { soonestBackingOff, usableInOrder, withRoute } from './candidates.js';
import { attemptStart, type SelectionStrategy } from './selection.js';
import { countsAgainst, MIN_ATTEMPT_MS, recordFailure, recordLate, watchConnects } from './record-failure.js';
import { UpstreamHealth } from './upstream-health.js';
import { Generations } from './generations.js';
import { deliver, type ResolveListener } from './resolve-listener.js';

export interface ResolverOptions {
  readonly upstreams: readonly Upstream[];
  /** @default 'round-robin' */
  readonly strategy: SelectionStrategy;
  /** End-to-end deadline of one query. @default 5000 */
  readonly timeoutMs: number;
  /** Queries in progress beyond which new ones get SERVFAIL at once. @default 1000 */
  readonly maxOutstanding: number;
  readonly backoff?: BackoffPolicy | undefined;
  /** Strip ECS from answers (RFC 7871 sec. 7.1.2; the upstreams send it with source prefix 0). @default false */
  readonly ecsPrivate?: boolean | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Split DNS, locally served zones and portal mode; without it every name goes to `upstreams`. */
  readonly router?: QueryRouter | undefined;
}

export interface ResolveResult {
  /** The answer for the client: its ID, its EDNS shape, no hop-by-hop options. Not yet truncated. */
  readonly answer: Buffer;
  /** The upstream's answer and who gave it, or undefined for a locally made SERVFAIL. */
  readonly via?:
    { readonly upstream: string; readonly answer: UpstreamAnswer; readonly rttMs: number } | undefined;
  readonly error?: Error | undefined;
}

export interface ResolverCounters {
  queries: number;
  servfail: number;
  overloaded: number;
  outstandingPeak: number;
  /** Answered from a locally served zone (RFC 6303, .local) without asking anyone. */
  local: number;
}

/** When every upstream is backing off, one probe per this interval may try the one due soonest. */
const PROMOTE_INTERVAL_MS = 1000;
/** Retries per upstream of a query whose working connection closed before answering. */
const MAX_REQUEUES = 2;

export class Resolver {
  #options: ResolverOptions;
  #entries: readonly Entry[];
  /** Queries of the current configuration, and of earlier ones (reload waits for those to finish). */
  readonly #generations = new Generations();
  readonly counters: ResolverCounters = {
    queries: 0,
    servfail: 0,
    overloaded: 0,
    outstandingPeak: 0,
    local: 0,
  };
  /** Health of upstreams the router chose (split DNS, portal), created on first use. */
  readonly #routed = new Map<Upstream, Entry>();
  readonly #watched = new WeakSet<Upstream>();
  #turn = 0;
  #outstanding = 0;
  #lastPromotion = -Infinity;
  readonly #deadlines: Deadlines;
  /** Hedge timers (hedge.ts): one list, since every hedge waits HEDGE_MS. */
  readonly #hedges: Deadlines;
  readonly #probes: BackgroundProbes;

  constructor(options: ResolverOptions) {
    this.#options = options;
    this.#deadlines = new Deadlines(options.clock);
    this.#hedges = new Deadlines(options.clock);
    this.#probes = new BackgroundProbes(options.clock, options.logger, () => this.#options.timeoutMs);
    this.#entries = options.upstreams.map((upstream) => ({
      upstream,
      health: new UpstreamHealth(options.backoff ?? DEFAULT_BACKOFF),
    }));
    for (const upstream of options.upstreams) this.#watch(upstream);
  }

  /** Failed connects count against the upstream's current entry, once per upstream object (record-failure.ts). */
  #watch(upstream: Upstream): void {
    if (this.#watched.has(upstream)) return;
    this.#watched.add(upstream);
    const entryOf = (): Entry | undefined =>
      this.#entries.find((e) => e.upstream === upstream) ?? this.#routed.get(upstream);
    watchConnects(upstream, entryOf, this.#options.clock, this.#options.logger);
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  get upstreams(): readonly { readonly upstream: Upstream; readonly health: UpstreamHealth }[] {
    return this.#entries;
  }

  /** The promise form of dispatch(). */
  resolve(query: Buffer, msg: ParsedMessage): Promise<ResolveResult> {
    return new Promise((resolve) => {
      this.dispatch(query, msg, resolve);
    });
  }

  /**
   * Resolves `query`; `done` gets the result exactly once, a SERVFAIL when nothing works. `at` is the
   * caller's clock reading of this instant, when it has one (the cache's): one clock read less a query.
   */
  dispatch(query: Buffer, msg: ParsedMessage, done: ResolveListener, at?: number): void {
    this.counters.queries++;
    if (this.#outstanding >= this.#options.maxOutstanding) {
      // A bounded queue: past the limit, fail fast rather than grow without end.
      this.counters.overloaded++;
      deliver(done, this.#servfail(query, msg, undefined));
      return;
    }
    this.#outstanding++;
    if (this.#outstanding > this.counters.outstandingPeak) this.counters.outstandingPeak = this.#outstanding;
    // Whole milliseconds for what the query keeps in flight (its deadline, its attempts' budget and
    // expiry): V8 stores a field holding a fraction as a 16-byte HeapNumber of its own, a whole number
    // inline, and the queries in flight are what each scavenge copies.
    const exact = at ?? this.#options.clock.now();
    const now = Math.floor(exact);
    const route = msg.question === undefined ? undefined : this.#options.router?.routeKey(msg.question.key);
    const local = route?.kind === 'local';
    const pool = route === undefined || local ? this.#entries : route.upstreams.map((u) => this.#entryFor(u));
    const job: Job = {
      query,
      msg,
      edns: msg.opt !== undefined,
      done,
      generation: this.#generations.started(),
      deadline: now + this.#options.timeoutMs,
      candidates: local ? [] : this.#candidates(now, pool),
      next: 0,
      errors: undefined,
      requeued: undefined,
      live: 0,
      over: false,
    };
    if (route?.kind === 'local') {
      this.counters.local++;
      this.#finish(job, { answer: localZoneAnswer(query, msg, route.zone) }, now);
      return;
    }
    this.#next(job, exact);
  }

  /**
   * Takes new settings and upstreams (a reload). An upstream object that stays keeps its health; queries
   * in progress finish with what they picked. Returns the upstreams no longer used, for the caller to
   * close once drained() says the queries that could still pick them are done.
   */
  reconfigure(options: ResolverOptions): Upstream[] {
    const sameBackoff = JSON.stringify(options.backoff) === JSON.stringify(this.#options.backoff);
    const health = new Map(this.#entries.map((e) => [e.upstream, e.health]));
    this.#entries = options.upstreams.map((upstream) => ({
      upstream,
      health:
        (sameBackoff ? health.get(upstream) : undefined) ??
        new UpstreamHealth(options.backoff ?? DEFAULT_BACKOFF),
    }));
    // The router (split DNS, portal) belongs to the daemon, not to one configuration: it stays.
    this.#options = { ...options, router: options.router ?? this.#options.router };
    for (const upstream of options.upstreams) this.#watch(upstream);
    this.#generations.advance();
    return [...health.keys()].filter((u) => !options.upstreams.includes(u));
  }

  /** Resolves once every query that started before the last reconfigure() has finished. */
  drained(): Promise<void> {
    return this.#generations.drained();
  }

  /**
   * Sends the job to its next candidate, or answers SERVFAIL when none is left or time is up and no attempt
   * is still running (a hedged one may yet answer: its own budget ends by the query's deadline).
   */
  #next(job: Job, exact = this.#options.clock.now()): void {
    const now = Math.floor(exact);
    const entry = job.candidates[job.next];
    const remaining = job.deadline - now;
    if (entry === undefined || remaining <= 0) {
      if (job.live > 0) return;
      this.#finish(
        job,
        this.#servfail(
          job.query,
          parsed(job),
          new AllUpstreamsFailedError(mostSpecificFirst(job.errors ?? [])),
        ),
        now,
      );
      return;
    }
    const last = job.next === job.candidates.length - 1;
    job.next++;
    // Each attempt but the last gets half the time left, and at least MIN_ATTEMPT_MS, to leave room to fail over.
    let budget = last ? remaining : Math.max(Math.min(remaining, MIN_ATTEMPT_MS), Math.floor(remaining / 2));
    if (this.#probes.holds(entry)) budget = Math.min(budget, PROBE_WAIT_MS);
    const attempt = new Attempt(job, entry, exact, budget, this.#attemptEnded);
    this.#deadlines.add(attempt, budget, now);
    job.live++;
    const { upstream } = entry;
    // No connection up: this attempt waits on a connect, which may hang (hedge.ts). A budget no longer than
    // the hedge's wait (a probe's: background-probe.ts) fails over by itself.
    if (!last && budget > HEDGE_MS && upstream.ready?.() === false)
      this.#hedges.add(new Hedge(attempt, this.#hedged), HEDGE_MS, now);
    const msg = parsed(job);
    // Sent: the parse is not kept while the query waits (attempt.ts, Job.msg).
    job.msg = undefined;
    try {
      if (upstream.send !== undefined) upstream.send(job.query, msg, attempt);
      else
        upstream.exchange(job.query, msg, { signal: attempt }).then(
          (answer) => {
            attempt.answered(answer);
          },
          (err: unknown) => {
            attempt.failed(err instanceof Error ? err : new Error(String(err)));
          },
        );
    } catch (err) {
      attempt.failed(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** An attempt still waits on its connection HEDGE_MS on: ask the next upstream too, if it is as private. */
  readonly #hedged = (attempt: Attempt): void => {
    if (shouldHedge(attempt, this.#options.logger)) this.#next(attempt.job);
  };

  /** One attempt is over: answer the client, or record the failure and try the next candidate. */
  readonly #attemptEnded = (attempt: Attempt, outcome: UpstreamAnswer | Error): void => {
    this.#deadlines.remove(attempt);
    const { job, entry } = attempt;
    job.live--;
    if (job.over) {
      recordLate(entry, outcome, this.#counts(attempt, outcome), this.#options.clock, this.#options.logger);
      return;
    }
    let failure: unknown = outcome;
    if (!(outcome instanceof Error)) {
      let answer: Buffer | undefined;
      try {
        answer = toClientAnswer(
          outcome.answer,
          outcome.msg,
          job.query.readUInt16BE(0),
          job.edns,
          this.#options.ecsPrivate === true,
        );
      } catch (err) {
        failure = err;
      }
      if (answer !== undefined) {
        entry.health.succeeded();
        const now = outcome.receivedAt ?? this.#options.clock.now();
        const via = { upstream: entry.upstream.id, answer: outcome, rttMs: now - attempt.startedAt() };
        this.#finish(job, { answer, via }, now);
        return;
      }
    }
    const error = recordFailure(
      entry,
      failure,
      this.#counts(attempt, failure),
      this.#options.clock,
      this.#options.logger,
    );
    (job.errors ??= []).push(error);
    // RFC 7766 sec. 6.2.4: a query lost with a connection that was working is sent again on a new one,
    // up to twice per upstream (the new connection may be closed by the same server limit in turn).
    if (error instanceof ConnectionClosedError && error.reused && requeues(job, entry) < MAX_REQUEUES) {
      (job.requeued ??= []).push(entry);
      job.candidates = [...job.candidates, entry];
    }
    this.#next(job);
  };

  readonly #probeClaimed = (entry: Entry): void => void this.#probes.start(entry);

  #counts(attempt: Attempt, failure: unknown): boolean {
    return countsAgainst(attempt.budgetMs, failure, this.#options.timeoutMs);
  }

  /** The job's one result: probes released, the query counted out, the client answered. */
  #finish(job: Job, result: ResolveResult, now = this.#options.clock.now()): void {
    job.over = true;
    // A probe that connects in the background keeps its slot until the connect ends (background-probe.ts).
    for (const entry of job.candidates) if (!this.#probes.holds(entry)) entry.health.releaseProbe(now);
    this.#outstanding--;
    this.#generations.finished(job.generation);
    try {
      deliver(job.done, result);
    } catch (err) {
      // The listener's own failure: never let it reach the connection that delivered the answer.
      this.#options.logger.error('failed to deliver an answer', { cause: describeCause(err) });
    }
  }

  #entryFor(upstream: Upstream): Entry {
    let entry = this.#routed.get(upstream);
    if (entry === undefined) {
      entry = { upstream, health: new UpstreamHealth(this.#options.backoff ?? DEFAULT_BACKOFF) };
      this.#routed.set(upstream, entry);
      this.#watch(upstream);
    }
    return entry;
  }

  /** Forgets every failure and backoff (wake from sleep, network change: old failures say nothing now). */
  resetHealth(): void {
    for (const entry of [...this.#entries, ...this.#routed.values()]) entry.health.reset();
    this.#lastPromotion = -Infinity;
  }

  /** Forgets upstreams the router no longer uses (split rules replaced). */
  forget(upstreams: readonly Upstream[]): void {
    for (const upstream of upstreams) this.#routed.delete(upstream);
  }

  /** Upstreams to try, in order: usable ones, a due probe, or (all backing off) the least bad one. */
  #candidates(now: number, pool: readonly Entry[]): readonly Entry[] {
    const entries = withRoute(pool, this.#options.router);
    const start = attemptStart(this.#options.strategy, entries.length, this.#turn++);
    // A backoff that ended makes its upstream this query's probe: its connect goes on in the background.
    const out = usableInOrder(entries, start, now, entries === this.#entries, this.#probeClaimed);
    if (out.length > 0) return out;
    // Nothing usable, but a probe is out: ride along rather than fail while it is. An upstream that lives
    // answers them all; a dead one fails them with the probe (a refused connect at once). Failing them
    // instead turned one dropped probe into a second and a half of SERVFAIL for every client. A probe that
    // is a connect in progress holds them PROBE_WAIT_MS at most (background-probe.ts).
    const probing = entries.filter((e) => e.health.state.kind === 'probing');
    if (probing.length > 0 || now - this.#lastPromotion < PROMOTE_INTERVAL_MS) return probing;
    const soonest = soonestBackingOff(entries);
    if (soonest === undefined) return out;
    this.#lastPromotion = now;
    soonest.health.claimProbe();
    this.#probes.start(soonest);
    return [soonest];
  }

  #servfail(query: Buffer, msg: ParsedMessage, error: Error | undefined): ResolveResult {
    this.counters.servfail++;
    this.#options.logger.rateLimited('info', 'servfail', 5000, 'answered SERVFAIL', {
      cause: error?.message ?? 'too many queries outstanding',
    });
    return { answer: errorAnswer(query, msg, RCODE.SERVFAIL), error };
  }

  async close(): Promise<void> {
    await Promise.all(this.#entries.map((e) => e.upstream.close()));
    this.#deadlines.clear();
    this.#hedges.clear();
  }

  destroy(err?: Error): void {
    for (const entry of this.#entries) entry.upstream.destroy(err);
    this.#deadlines.clear();
    this.#hedges.clear();
  }
}
