/** Adapters between the callback form of an exchange (AttemptSink) and the promise form. */
import { QueryTimeoutError } from '../errors.js';
import type { AbortLike } from '../util/deadline.js';
import type { TlsUpstreamCounters } from './upstream-stats.js';
import type { AttemptSink, UpstreamAnswer } from './upstream.js';

/** Counts an upstream's outcomes on the way through, without a closure per query. */
export class CountedSink implements AttemptSink {
  readonly #inner: AttemptSink;
  readonly #counters: TlsUpstreamCounters;

  constructor(inner: AttemptSink, counters: TlsUpstreamCounters) {
    this.#inner = inner;
    this.#counters = counters;
  }

  get aborted(): boolean {
    return this.#inner.aborted;
  }
  addEventListener(type: 'abort', listener: () => void): void {
    this.#inner.addEventListener(type, listener);
  }
  removeEventListener(type: 'abort', listener: () => void): void {
    this.#inner.removeEventListener(type, listener);
  }
  answered(answer: UpstreamAnswer): void {
    this.#counters.answers++;
    this.#inner.answered(answer);
  }
  failed(err: Error): void {
    if (err instanceof QueryTimeoutError) this.#counters.timeouts++;
    else this.#counters.failures++;
    this.#inner.failed(err);
  }
}

/** The promise form of a callback exchange, under `signal`. */
export function sendAsPromise(send: (sink: AttemptSink) => void, signal: AbortLike): Promise<UpstreamAnswer> {
  return new Promise<UpstreamAnswer>((resolve, reject) => {
    send({
      get aborted() {
        return signal.aborted;
      },
      addEventListener: (type, listener) => {
        signal.addEventListener(type, listener, { once: true });
      },
      removeEventListener: (type, listener) => {
        signal.removeEventListener(type, listener);
      },
      answered: resolve,
      failed: reject,
    });
  });
}
