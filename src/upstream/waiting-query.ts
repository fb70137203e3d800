import type { Buffer } from 'node:buffer';
import type { Question } from '../dns/wire.js';
import type { AttemptSink } from './upstream.js';

/**
 * One query waiting on a stream connection (stream-connection.ts), and also the abort listener its attempt
 * holds (handleEvent, as EventTarget calls it): a closure per query was about 120 bytes more for every
 * query in flight, and at the maximum the queries in flight live long enough to be promoted.
 */
export class WaitingQuery {
  constructor(
    /** The client's query: its question is what the answer must carry (in-flight-table.ts). */
    readonly query: Buffer,
    readonly question: Question | undefined,
    readonly id: number,
    readonly sentAt: number,
    readonly reused: boolean,
    readonly sink: AttemptSink,
    /** The connection's one handler for a query whose attempt ran out of time. */
    readonly abandon: (entry: WaitingQuery) => void,
  ) {}

  handleEvent(): void {
    this.abandon(this);
  }
}
