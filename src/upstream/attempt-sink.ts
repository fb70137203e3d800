/** Adapters between the callback form of an exchange (AttemptSink) and the promise form. */
import type { AbortLike } from '../util/deadline.js';
import type { AttemptSink, UpstreamAnswer } from './upstream.js';

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
