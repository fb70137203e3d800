/**
 * What the DoT listener adds to an answer on its way out: the idle timeout when the client asked for it
 * (RFC 7828 sec. 3.3.2) and padding when the client padded its query (RFC 8467 sec. 4.1).
 */
import { clientHopOptions, addServerHopOptions } from '../dns/server-options.js';
import { parseMessage } from '../dns/wire.js';

export interface TlsAnswerOptions {
  /** Block size for padded answers; 0 = never pad. */
  readonly padBlock: number;
  /** The idle timeout announced to clients that send the keepalive option. */
  readonly idleTimeoutMs: number;
}

export function finishTlsAnswer(answer: Buffer, query: Buffer, options: TlsAnswerOptions): Buffer {
  let asks;
  try {
    asks = clientHopOptions(parseMessage(query));
  } catch {
    return answer; // a FORMERR answer to an unreadable query: nothing to honour
  }
  const padBlock = asks.padding ? options.padBlock : 0;
  if (!asks.keepalive && padBlock === 0) return answer;
  try {
    return addServerHopOptions(answer, parseMessage(answer), {
      keepaliveMs: asks.keepalive ? options.idleTimeoutMs : undefined,
      padBlock,
    });
  } catch {
    return answer;
  }
}
