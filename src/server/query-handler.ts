/**
 * What every listener does with one client message: refuse what is not a query, FORMERR what cannot be
 * parsed, NOTIMP other opcodes, and hand the rest to the resolver with the client's bytes untouched.
 */
import {
  clientUdpLimit,
  isResponse,
  MalformedMessageError,
  opcodeOf,
  parseMessage,
  RCODE,
  HEADER_LENGTH,
  type ParsedMessage,
} from '../dns/wire.js';
import { errorAnswer, truncateAnswer } from '../dns/edns.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { Resolver, ResolveResult } from '../resolver/resolver.js';
import type { Logger } from '../util/logger.js';
import type { UdpReadGate } from './udp-read-gate.js';

export type ClientTransport = 'udp' | 'tcp' | 'tls';

export interface ServerCounters {
  queries: Record<ClientTransport, number>;
  formerr: number;
  notimp: number;
  dropped: number;
  truncated: number;
  /** Times the UDP listeners stopped reading with a full queue upstream (udp-read-gate.ts). */
  udpReadPauses: number;
  /** Resolver answers by the upstream transport that gave them (locally made SERVFAILs count in neither). */
  upstreamAnswers: { tls: number; clear: number };
  /** Resolver answers sent to clients, by RCODE (index 0-15); FORMERR and NOTIMP made here are counted above. */
  rcodes: number[];
}

export function newServerCounters(): ServerCounters {
  return {
    queries: { udp: 0, tcp: 0, tls: 0 },
    formerr: 0,
    notimp: 0,
    dropped: 0,
    truncated: 0,
    udpReadPauses: 0,
    upstreamAnswers: { tls: 0, clear: 0 },
    rcodes: new Array<number>(16).fill(0),
  };
}

export interface QueryContext {
  readonly resolver: Resolver;
  /** Asked before the resolver when enabled (it calls the resolver on a miss). */
  readonly cache?: ResponseCache | undefined;
  readonly counters: ServerCounters;
  readonly logger: Logger;
  /** Backpressure for the UDP listeners (udp-read-gate.ts); without it they read whatever comes. */
  readonly udpGate?: UdpReadGate | undefined;
}

/**
 * Where a listener's answers go: one object per listener (or client connection), told which query each
 * answer is for. A closure per query instead (capturing the client's port and address) was about 170
 * bytes a query, kept alive while the query waited on the upstream.
 */
export interface Replier {
  /** The listener's transport and context: the same for all its queries, so held here, not per query. */
  readonly transport: ClientTransport;
  readonly ctx: QueryContext;
  /** `answer` undefined: send nothing. `port` and `address` are what the listener passed with `raw`. */
  replied(answer: Buffer | undefined, raw: Buffer, port: number, address: string): void;
}

/**
 * Calls `replier` once with the answer to send back, or undefined to send nothing (no readable header, or
 * not a query). Synchronously for what is answered here or from the cache.
 */
export function handleQuery(raw: Buffer, replier: Replier, port = 0, address = ''): void {
  const { transport, ctx } = replier;
  ctx.counters.queries[transport]++;
  // Without a header there is no ID to answer to; a message with QR=1 is an answer, and answering answers loops.
  if (raw.length < HEADER_LENGTH || isResponse(raw)) {
    ctx.counters.dropped++;
    replier.replied(undefined, raw, port, address);
    return;
  }
  let msg: ParsedMessage | undefined;
  try {
    msg = parseMessage(raw);
  } catch (err) {
    if (!(err instanceof MalformedMessageError)) throw err;
    ctx.counters.formerr++;
    ctx.logger.debug('FORMERR', { transport, cause: err.message });
    replier.replied(errorAnswer(raw, undefined, RCODE.FORMERR), raw, port, address);
    return;
  }
  // RFC 1035 sec. 4.1.1: only standard queries (opcode 0) are forwarded.
  if (opcodeOf(raw) !== 0) {
    ctx.counters.notimp++;
    replier.replied(errorAnswer(raw, msg, RCODE.NOTIMP), raw, port, address);
    return;
  }
  if (msg.question === undefined) {
    ctx.counters.formerr++;
    replier.replied(errorAnswer(raw, msg, RCODE.FORMERR), raw, port, address);
    return;
  }
  const answered = new ClientQuery(raw, clientUdpLimit(msg), replier, port, address);
  if (ctx.cache !== undefined) ctx.cache.dispatch(raw, msg, answered);
  else ctx.resolver.dispatch(raw, msg, answered);
}

/**
 * A client's query on its way: it hears the result (resolve-listener.ts) and replies. No closure per query,
 * and not the query's parse: only the size its answer must fit (a number in the object), so the parse can
 * die young rather than be copied by each scavenge the query lives through.
 */
class ClientQuery {
  constructor(
    readonly raw: Buffer,
    /** The client's UDP payload size (clientUdpLimit). */
    readonly udpLimit: number,
    readonly replier: Replier,
    readonly port: number,
    readonly address: string,
  ) {}

  resolved(result: ResolveResult): void {
    const { ctx, transport } = this.replier;
    countAnswer(ctx.counters, result);
    if (ctx.logger.enabled('debug'))
      ctx.logger.debug('answered', {
        transport,
        q: questionKey(this.raw),
        via: result.via?.upstream ?? 'none',
      });
    const answer = transport === 'udp' ? fitUdp(result.answer, this.udpLimit, ctx.counters) : result.answer;
    this.replier.replied(answer, this.raw, this.port, this.address);
    // Whichever client it was for, a query left the resolver: the UDP listeners may read again.
    ctx.udpGate?.afterAnswer();
  }
}

/** Integer increments only: this runs for every answer. */
function countAnswer(counters: ServerCounters, result: ResolveResult): void {
  const transport = result.via?.answer.transport;
  if (transport === 'tls') counters.upstreamAnswers.tls++;
  else if (transport !== undefined) counters.upstreamAnswers.clear++;
  const rcode = (result.answer[3] ?? 0) & 0x0f;
  counters.rcodes[rcode] = (counters.rcodes[rcode] ?? 0) + 1;
}

/** RFC 1035 sec. 4.2.1 / RFC 6891 sec. 7: too big for the client's UDP size -> TC=1 and retry over TCP. */
function fitUdp(answer: Buffer, limit: number, counters: ServerCounters): Buffer {
  if (answer.length <= limit) return answer;
  counters.truncated++;
  return truncateAnswer(answer, parseMessage(answer));
}

/** For the debug log: the question of a query parsed once already (so it parses again). */
function questionKey(raw: Buffer): string | undefined {
  return parseMessage(raw).question?.key;
}
