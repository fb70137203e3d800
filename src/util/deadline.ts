/**
 * Query deadlines without a Node timer per query. Every attempt of the same budget joins one list in the
 * order it started, so the list is also in the order of expiry, and one timer per list, armed for its head,
 * serves them all (Node keeps its own timers this way, but each Timeout costs an object, an async ID and a
 * clearTimeout; the daemon's profile had timer set-up and teardown at about 5% of a forwarded query).
 * Leaving a list is O(1), so an answered query holds nothing until its deadline.
 */
import type { Clock, Timer } from './clock.js';

/**
 * An abort listener: a function, or an object whose handleEvent() is called (as EventTarget calls it), so
 * that a query already held in an object can be its own listener instead of a closure made per query.
 */
export type AbortListener = (() => void) | { handleEvent(): void };

/** Calls `listener` the way EventTarget does. */
export function callListener(listener: AbortListener): void {
  if (typeof listener === 'function') listener();
  else listener.handleEvent();
}

/** What the upstream code needs of a cancellation signal; AbortSignal satisfies it too. */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/**
 * Something with a deadline: a link in one DeadlineList while it waits. An interface, not a base class: a
 * derived class's `super()` went through V8's FindNonDefaultConstructorOrConstruct on every query's
 * attempt (perf at the maximum: 0.5 % of the daemon's samples). The classes declare the four fields
 * themselves, first (`expiresAt = 0`, the links undefined), so their objects keep one shape.
 */
export interface Expiring {
  /** Clock milliseconds. */
  expiresAt: number;
  /** @internal */
  older: Expiring | undefined;
  /** @internal */
  newer: Expiring | undefined;
  /** @internal The list this waits in, or undefined when it waits in none. */
  list: DeadlineList | undefined;
  /** The deadline passed (called once, and only while still waiting). */
  expire(): void;
}

/** @internal One list per budget (Deadlines); exported only as the type of Expiring's `list`. */
export class DeadlineList {
  oldest: Expiring | undefined;
  newest: Expiring | undefined;
  timer: Timer | undefined;
  /** When the timer fires, or undefined when it is not armed. */
  firesAt: number | undefined;
}

const armed = (list: DeadlineList): boolean => list.firesAt !== undefined;

export class Deadlines {
  readonly #clock: Clock;
  /** One list per budget in whole milliseconds: a handful in practice (the query timeout, its halves). */
  readonly #lists = new Map<number, DeadlineList>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** `item` expires `ms` from now unless remove()d first; `now` when the caller has just read the clock. */
  add(item: Expiring, ms: number, now = this.#clock.now()): void {
    // Whole milliseconds, at least 1: fractional budgets would each get a list.
    const budget = Math.max(1, Math.ceil(ms));
    let list = this.#lists.get(budget);
    if (list === undefined) {
      list = new DeadlineList();
      this.#lists.set(budget, list);
    }
    item.expiresAt = now + budget;
    item.list = list;
    item.older = list.newest;
    item.newer = undefined;
    if (list.newest === undefined) list.oldest = item;
    else list.newest.newer = item;
    list.newest = item;
    if (list.firesAt === undefined) this.#arm(list, item.expiresAt, now);
  }

  /** Stops waiting for `item` (answered or given up). */
  remove(item: Expiring): void {
    const list = item.list;
    if (list === undefined) return;
    if (item.older === undefined) list.oldest = item.newer;
    else item.older.newer = item.newer;
    if (item.newer === undefined) list.newest = item.older;
    else item.newer.older = item.older;
    item.older = undefined;
    item.newer = undefined;
    item.list = undefined;
    // An emptied list keeps its timer armed: it fires once at the old head's deadline, finds nothing and
    // stays off (#fire), so an idle daemon still ends with no timer armed. Clearing it here instead meant a
    // clearTimeout, and for the next query a new Timeout, an unref and a new Node timer list, for every
    // query whenever one query is in flight at a time (10,000 q/s on loopback): see the commit's figures.
  }

  /** Clears every timer; the items are forgotten without expiring. */
  clear(): void {
    for (const list of this.#lists.values()) list.timer?.clear();
    this.#lists.clear();
  }

  #arm(list: DeadlineList, at: number, now: number): void {
    list.firesAt = at;
    const ms = Math.max(1, at - now);
    if (list.timer === undefined)
      list.timer = this.#clock.setTimeout(() => {
        this.#fire(list);
      }, ms);
    else list.timer.refresh(ms);
  }

  #fire(list: DeadlineList): void {
    list.firesAt = undefined;
    const now = this.#clock.now();
    for (let item = list.oldest; item !== undefined && item.expiresAt <= now; item = list.oldest) {
      this.remove(item);
      item.expire();
    }
    // The head is the earliest deadline left: a timer armed when an earlier one was head fires early once.
    // (expire() may have added to this list, and armed it.)
    if (list.oldest !== undefined && !armed(list)) this.#arm(list, list.oldest.expiresAt, now);
  }
}
