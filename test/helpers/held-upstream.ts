// An upstream that holds every attempt until the test answers it or the manual clock expires it, and a
// resolver over such upstreams: for the resolver's failover, health and hedging logic without a network.
import { parseMessage, type ParsedMessage } from '../../src/dns/wire.js';
import { Resolver, type ResolveResult } from '../../src/resolver/resolver.js';
import type { PrivacyLevel } from '../../src/upstream/usage-profile.js';
import type { AttemptSink, Upstream, UpstreamAnswer } from '../../src/upstream/upstream.js';
import { createLogger } from '../../src/util/logger.js';
import { buildQuery, parseAnswer } from './dns-messages.js';
import { ManualClock } from './manual-clock.js';

export const BACKOFF = { baseMs: 1000, capMs: 60_000, jitter: 0 };

export class HeldUpstream implements Upstream {
  readonly spec;
  readonly held: { sink: AttemptSink; query: Buffer }[] = [];
  /** What ready() says: false = no connection up (a query would wait on a connect). */
  connected = true;

  constructor(
    readonly id: string,
    readonly privacy: PrivacyLevel = 'authenticated',
  ) {
    this.spec = { address: '192.0.2.1', port: 853, pins: [] };
  }

  ready(): boolean {
    return this.connected;
  }

  readonly connectListeners: ((err: unknown) => void)[] = [];
  onConnectFailure(listener: (err: unknown) => void): void {
    this.connectListeners.push(listener);
  }
  /** A connect failed, whether or not a query waited for it. */
  connectFailed(err: unknown): void {
    for (const listener of this.connectListeners) listener(err);
  }

  /** Connects started without a query (set by canWarm()), for the test to settle. */
  readonly warms: { resolve: () => void; reject: (err: Error) => void }[] = [];
  warm?: () => Promise<void>;

  /** Lets the resolver open a connection without a query; the test settles each from `warms`. */
  canWarm(): this {
    this.warm = () =>
      new Promise<void>((resolve, reject) => {
        this.warms.push({ resolve, reject });
      });
    return this;
  }

  exchange(): Promise<UpstreamAnswer> {
    return Promise.reject(new Error('not used: send() is'));
  }
  send(query: Buffer, _msg: ParsedMessage, sink: AttemptSink): void {
    this.held.push({ sink, query });
  }
  /** Answers every attempt held and not yet over; `receivedAt`: when the upstream says it read them (clock ms). */
  answerAll(receivedAt?: number): void {
    for (const { sink, query } of this.held.splice(0)) {
      if (sink.aborted) continue;
      const answer = Buffer.from(query);
      answer[2] = (answer[2] ?? 0) | 0x80;
      sink.answered({ answer, msg: parseMessage(answer), transport: 'tls', receivedAt });
    }
  }
  /** Fails every attempt held with `err`. */
  failAll(err: Error): void {
    for (const { sink } of this.held.splice(0)) sink.failed(err);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): void {}
}

export function resolverOver(upstreams: HeldUpstream[], timeoutMs = 3000) {
  const clock = new ManualClock();
  const resolver = new Resolver({
    upstreams,
    strategy: 'ordered',
    timeoutMs,
    maxOutstanding: 1000,
    backoff: BACKOFF,
    clock,
    logger: createLogger({ level: 'error', write: () => {} }),
  });
  const results: ResolveResult[] = [];
  const ask = (name: string): void => {
    const query = buildQuery(name, 'A');
    resolver.dispatch(query, parseMessage(query), (r) => results.push(r));
  };
  const rcodes = (): string[] => results.map((r) => parseAnswer(r.answer).rcode);
  return { clock, resolver, ask, results, rcodes };
}
