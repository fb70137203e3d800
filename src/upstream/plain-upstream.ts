/**
 * Clear-text DNS to a server's port 53: the Opportunistic profile's last resort (RFC 8310 sec. 5), or a
 * configured fallback server. Nothing here is private, so the path is hardened against off-path forgery
 * instead (RFC 5452): a fresh random source port and a random ID for every query, answers accepted only
 * from the server with our ID and question, and identical queries in flight coalesced so an attacker
 * cannot multiply the guesses that could match (sec. 5, the birthday attack; dnsmasq's CVE-2020-25686).
 * A truncated answer is retried over TCP. No padding and no keepalive in clear (RFC 7830 sec. 7).
 */
import { Buffer } from 'node:buffer';
import { randomInt } from 'node:crypto';
import { ConnectionClosedError, QueryTimeoutError } from '../errors.js';
import { OPTION_KEEPALIVE, OPTION_PADDING, toUpstreamQuery } from '../dns/edns.js';
import { HEADER_LENGTH, type ParsedMessage } from '../dns/wire.js';
import type { Clock } from '../util/clock.js';
import { deferred, type Deferred } from '../util/deferred.js';
import type { Logger } from '../util/logger.js';
import type { AbortLike } from '../util/deadline.js';
import { tcpExchange } from './tcp-exchange.js';
import {
  isTruncated,
  udpExchange,
  type ClearAnswer,
  type ClearTarget,
  type DropReason,
  type ExpectedAnswer,
} from './udp-exchange.js';
import type { PrivacyLevel } from './usage-profile.js';
import type { ExchangeOptions, Upstream, UpstreamAnswer, UpstreamSpec } from './upstream.js';
import { ChurnMap } from '../util/churn-map.js';
import { u16 } from '../dns/bytes.js';
import { bracketed } from '../util/ip-literal.js';

const CLEAR_DNS_PORT = 53;

export interface PlainUpstreamOptions {
  /** The server. `port` @default 53; `pins` @default [] (there is nothing to authenticate in clear). */
  readonly spec: Omit<UpstreamSpec, 'port' | 'pins'> & {
    readonly port?: number | undefined;
    readonly pins?: readonly string[] | undefined;
  };
  /** `clear`: an Opportunistic upstream's own port 53; `fallback`: a configured clear-text server. @default 'clear' */
  readonly role?: 'clear' | 'fallback' | undefined;
  /** `tcp`: every query over TCP, no UDP (getdns_query's `-l T`). @default 'udp' (TCP only on TC=1) */
  readonly transport?: 'udp' | 'tcp' | undefined;
  /** RFC 7871 sec. 7.1.2: ECS with source prefix 0 instead of the client's. @default false */
  readonly ecsPrivate?: boolean | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface PlainUpstreamCounters {
  /** exchange() calls. */
  queries: number;
  /** Exchanges that shared a query already in flight instead of sending their own. */
  coalesced: number;
  /** Queries sent over UDP (one fresh socket each). */
  udpQueries: number;
  /** UDP answers with TC=1, retried over TCP. */
  tcpRetries: number;
  /** Upstream answers accepted (one per upstream query, however many callers shared it). */
  answers: number;
  /** Well-formed UDP datagrams that were not the answer: wrong source, ID or question, or QR=0. */
  spoofSuspects: number;
  /** TCP frames that were not the answer (wrong ID or question, or QR=0). */
  unmatchedAnswers: number;
  /** Datagrams or frames that do not parse as DNS messages. */
  malformed: number;
}

/** One upstream query and the callers waiting on it. */
interface Flight {
  readonly key: string | undefined;
  /** The question bytes as the first caller sent them (case included). */
  readonly question: Buffer;
  readonly controller: AbortController;
  readonly result: Deferred<UpstreamAnswer>;
  waiters: number;
}

const isHopByHop = (code: number): boolean => code === OPTION_KEEPALIVE || code === OPTION_PADDING;

/**
 * Queries that may share one upstream query: the same question (name case-folded, type, class), the
 * same header bits that shape the answer (opcode, RD, AD, CD), the same EDNS presence, version and DO
 * bit, and the same end-to-end options (a client's cookie, RFC 7873, must come back to that client).
 */
export function coalescingKey(query: Buffer, msg: ParsedMessage): string | undefined {
  if (msg.question === undefined || query.length < HEADER_LENGTH) return undefined;
  const flags = u16(query, 2) & 0x7930; // opcode, RD, AD, CD
  const opt = msg.opt;
  if (opt === undefined) return `${msg.question.key}|${flags}|-`;
  const options = opt.options
    .filter((o) => !isHopByHop(o.code))
    .map((o) => query.toString('hex', o.start, o.start + 4 + o.length))
    .join(',');
  // TTL field: extended RCODE (8 bits), version (8), DO (1), Z (15): keep version and DO.
  return `${msg.question.key}|${flags}|${opt.ttlField & 0x00ff8000}|${options}`;
}

/**
 * A coalesced caller whose question differs from the first caller's only in case (0x20 or not) gets the
 * answer with its own spelling, as the server would have echoed it (RFC 5452 sec. 9.1).
 */
function withCallerQuestion(shared: UpstreamAnswer, question: Buffer, flight: Flight): UpstreamAnswer {
  const q = shared.msg.question;
  if (q === undefined || question.equals(flight.question) || q.end - q.start !== question.length)
    return shared;
  const answer = Buffer.from(shared.answer);
  question.copy(answer, q.start);
  return { ...shared, answer };
}

function questionBytes(query: Buffer, msg: ParsedMessage): Buffer {
  return msg.question === undefined ? Buffer.alloc(0) : query.subarray(msg.question.start, msg.question.end);
}

export class PlainUpstream implements Upstream {
  readonly id: string;
  readonly spec: UpstreamSpec;
  readonly privacy: PrivacyLevel;
  readonly counters: PlainUpstreamCounters = {
    queries: 0,
    coalesced: 0,
    udpQueries: 0,
    tcpRetries: 0,
    answers: 0,
    spoofSuspects: 0,
    unmatchedAnswers: 0,
    malformed: 0,
  };
  readonly #target: ClearTarget;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #ecsPrivate: boolean;
  readonly #tcpOnly: boolean;
  /** Flights that new identical queries may join, by coalescing key (not a Map: util/churn-map.ts). */
  readonly #joinable = new ChurnMap<Flight>();
  readonly #flights = new Set<Flight>();
  #closed = false;

  constructor(options: PlainUpstreamOptions) {
    const port = options.spec.port ?? CLEAR_DNS_PORT;
    this.spec = { ...options.spec, port, pins: options.spec.pins ?? [] };
    const role = options.role ?? 'clear';
    this.privacy = role;
    const host = bracketed(options.spec.address);
    // Every log line about this upstream says it is clear text.
    this.#tcpOnly = options.transport === 'tcp';
    const label = `${role === 'clear' ? 'clear' : 'clear, fallback'}${this.#tcpOnly ? ', tcp' : ''}`;
    this.id = `${host}#${port} (${label})`;
    this.#target = { address: options.spec.address, port, label: this.id };
    this.#clock = options.clock;
    this.#logger = options.logger.child({ upstream: this.id });
    this.#ecsPrivate = options.ecsPrivate === true;
  }

  /** Upstream queries waiting for their answer (coalesced callers share one). */
  get inFlight(): number {
    return this.#flights.size;
  }

  exchange(query: Buffer, msg: ParsedMessage, options: ExchangeOptions): Promise<UpstreamAnswer> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError(this.id, false));
    if (options.signal.aborted)
      return Promise.reject(new QueryTimeoutError(`no answer from ${this.id} in time`));
    this.counters.queries++;
    const key = coalescingKey(query, msg);
    let flight = key === undefined ? undefined : this.#joinable.get(key);
    if (flight === undefined) flight = this.#start(query, msg, key);
    else this.counters.coalesced++;
    return this.#join(flight, questionBytes(query, msg), options.signal);
  }

  /** Resolves once every query in flight has its answer (or has been given up by all its callers). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#flights].map((f) => f.result.promise));
  }

  destroy(err?: Error): void {
    this.#closed = true;
    const reason = err ?? new ConnectionClosedError(this.id, false);
    this.#joinable.clear();
    for (const flight of this.#flights) {
      flight.result.reject(reason);
      flight.controller.abort(reason);
    }
  }

  #start(query: Buffer, msg: ParsedMessage, key: string | undefined): Flight {
    const flight: Flight = {
      key,
      question: questionBytes(query, msg),
      controller: new AbortController(),
      result: deferred<UpstreamAnswer>(),
      waiters: 0,
    };
    // Callers that gave up leave the result unobserved.
    flight.result.promise.catch(() => undefined);
    if (key !== undefined) this.#joinable.set(key, flight);
    this.#flights.add(flight);
    void this.#run(query, msg, flight.controller.signal)
      .then(
        (answer) => {
          flight.result.resolve(answer);
        },
        (err: unknown) => {
          flight.result.reject(err);
        },
      )
      .finally(() => {
        this.#forget(flight);
      });
    return flight;
  }

  #forget(flight: Flight): void {
    if (flight.key !== undefined && this.#joinable.get(flight.key) === flight)
      this.#joinable.delete(flight.key);
    this.#flights.delete(flight);
  }

  /** Waits on a flight under the caller's own deadline; the flight stops when its last caller leaves. */
  #join(flight: Flight, question: Buffer, signal: AbortLike): Promise<UpstreamAnswer> {
    flight.waiters++;
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      let left = false;
      const leave = (): void => {
        left = true;
        signal.removeEventListener('abort', onAbort);
        if (--flight.waiters > 0) return;
        // Nobody waits any more: no new caller may join it, and its socket closes now.
        this.#forget(flight);
        flight.controller.abort();
      };
      const onAbort = (): void => {
        leave();
        reject(new QueryTimeoutError(`no answer from ${this.id} in time`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.result.promise.then(
        (answer) => {
          if (left) return;
          leave();
          resolve(withCallerQuestion(answer, question, flight));
        },
        (err: unknown) => {
          if (left) return;
          leave();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  async #run(query: Buffer, msg: ParsedMessage, signal: AbortLike): Promise<UpstreamAnswer> {
    const startedAt = this.#clock.now();
    if (this.#tcpOnly) return this.#accept(await this.#send('tcp', query, msg, signal), 'tcp', startedAt);
    this.counters.udpQueries++;
    const udp = await this.#send('udp', query, msg, signal);
    if (!isTruncated(udp.answer)) return this.#accept(udp, 'udp', startedAt);
    // RFC 7766 sec. 5: a truncated UDP answer is asked again over TCP, to the same server.
    this.counters.tcpRetries++;
    this.#logger.debug('truncated answer over UDP: retrying over TCP');
    return this.#accept(await this.#send('tcp', query, msg, signal), 'tcp', startedAt);
  }

  /** The client's query with only our random ID (RFC 5452 sec. 9.2) and without padding or keepalive. */
  #send(
    transport: 'udp' | 'tcp',
    query: Buffer,
    msg: ParsedMessage,
    signal: AbortLike,
  ): Promise<ClearAnswer> {
    const id = randomInt(0x10000);
    const wire = toUpstreamQuery(query, msg, {
      id,
      padBlock: 0,
      keepalive: false,
      ecsPrivate: this.#ecsPrivate,
    });
    const expected: ExpectedAnswer = {
      id,
      key: msg.question?.key,
      questionEnd: msg.question?.end ?? HEADER_LENGTH,
    };
    const exchange = transport === 'udp' ? udpExchange : tcpExchange;
    return exchange(this.#target, wire, expected, signal, (reason) => {
      this.#onDrop(transport, reason);
    });
  }

  #accept(answer: ClearAnswer, transport: 'udp' | 'tcp', startedAt: number): UpstreamAnswer {
    this.counters.answers++;
    if (this.#logger.enabled('debug'))
      this.#logger.debug('answer in clear text', {
        transport,
        ms: Math.round(this.#clock.now() - startedAt),
      });
    return { answer: answer.answer, msg: answer.msg, transport };
  }

  #onDrop(transport: 'udp' | 'tcp', reason: DropReason): void {
    if (reason === 'malformed') {
      this.counters.malformed++;
      this.#logger.debug('dropped an unparseable clear-text answer', { transport });
      return;
    }
    if (transport === 'tcp') {
      this.counters.unmatchedAnswers++;
      this.#logger.debug('dropped a TCP answer that does not match the query', { reason });
      return;
    }
    this.counters.spoofSuspects++;
    // RFC 5452 sec. 9.3: a reply that does not match may be a forgery attempt; say so, but not in a flood.
    this.#logger.rateLimited(
      'warn',
      `spoof:${this.id}`,
      60_000,
      'ignored a clear-text answer that does not match its query (possible spoofing)',
      { reason },
    );
  }
}
