// Types and small pure helpers of the scriptable fake DNS-over-TLS upstream (see fake-upstream.ts).
import type { SecureVersion } from 'node:tls';
import type * as dnsPacket from 'dns-packet';
import type { AnswerOptions, ParsedQuery, RcodeName } from './dns-answer.js';

export interface ReceivedQuery {
  /** The frame payload exactly as received (no length prefix). */
  raw: Buffer;
  id: number;
  name: string;
  type: number;
  connectionIndex: number;
  queryIndexOnConnection: number;
  receivedAt: number;
  parsed: ParsedQuery;
  /** dns-packet's decoding, or undefined if dns-packet could not decode it. */
  decoded: dnsPacket.DecodedPacket | undefined;
  /** True when the query arrived after closeAfterQueries was reached and was not handled. */
  ignored: boolean;
}

export interface ConnectionInfo {
  index: number;
  remotePort: number;
  handshakeDone: boolean;
  resumed: boolean;
  tlsVersion: string | null;
  /** ALPN protocols the client offered (empty if none / clear TCP). */
  alpnOffered: string[];
  alpnProtocol: string | false;
  servername: string | false;
  queries: number;
  bytesReceived: number;
  /** Reads of a lone octet: a frame's first, sent ahead of the rest (held-answer-nudge.ts). */
  loneOctets: number;
  clientEnded: boolean;
  closed: boolean;
  error: Error | undefined;
}

export interface Action {
  answer?: boolean;
  /** Wait this long before acting (does not block other queries). */
  delayMs?: number;
  rcode?: RcodeName | number;
  bigTxtBytes?: number;
  keepaliveTimeout?: number;
  truncated?: boolean;
  answerWithId?: number;
  answerWithName?: string;
  /** Send the answer twice. */
  duplicate?: boolean;
  /** Keep the answer on the connection's held list instead of sending it. */
  hold?: boolean;
  /** With hold: afterwards release every held answer on this connection (this one included). */
  release?: { reverse?: boolean };
  /** Send this payload as a frame (length prefix added). */
  raw?: Buffer;
  /** Write these bytes as they are (garbage, partial frames). */
  rawBytes?: Buffer;
  drop?: boolean;
  /** Graceful close (close_notify + FIN), after any answer this action sends. */
  close?: boolean;
  /** TCP RST of the raw socket. */
  rst?: boolean;
}

export interface QueryContext {
  connectionIndex: number;
  queryIndexOnConnection: number;
  connection: ConnectionInfo;
  /** Builds (does not send) an answer to this query with the server's defaults plus `opts`. */
  answer(opts?: AnswerOptions): Buffer;
  sendFrame(payload: Buffer): void;
  sendRaw(bytes: Buffer): void;
  /** Sends this connection's held answers; returns how many. */
  releaseHeld(opts?: { reverse?: boolean }): number;
  end(): void;
  rst(): void;
}

export type ConnectionFault = 'stall' | 'rst' | 'close';

export interface FakeUpstreamOptions {
  /** TLS (default) or clear TCP. */
  tls?: boolean;
  host?: '127.0.0.1' | '::1';
  /** PEM cert or chain; default getTestPki().leaf.chain. */
  cert?: string;
  /** PEM key; default getTestPki().leaf.key. */
  key?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** Picks the ALPN protocol from the client's offer; default 'dot' if offered, else undefined (fatal alert). */
  alpnSelect?: (offered: string[]) => string | undefined;
  /** false disables resumption entirely (no tickets, no session cache). Default true. */
  resumption?: boolean;
  /**
   * false disables tickets, so TLS 1.2 resumes by session ID (server cache). Use with maxVersion TLSv1.2:
   * TLS 1.3 without tickets does not resume here. Default true.
   */
  sessionTickets?: boolean;
  onQuery?: (q: ReceivedQuery, ctx: QueryContext) => Action | undefined | Promise<Action | undefined>;
  keepaliveTimeout?: number;
  padAnswers?: boolean;
  echoEdnsOptions?: boolean;
  stallHandshake?: boolean;
  closeAfterQueries?: number;
  /** Closes a connection on a read of a lone octet, as RFC 7766 sec. 8 warns some servers do. */
  closeOnLoneOctet?: boolean;
  rstOnConnect?: boolean;
  acceptDelayMs?: number;
  /** Per-connection fault by connection index (0-based); overrides the static ones. */
  connectionFault?: (index: number) => ConnectionFault | undefined;
}

/** Whether an action sends an answer: explicitly, or by not choosing a non-answer action. */
export function wantsAnswer(a: Action): boolean {
  if (a.answer === true) return true;
  return (
    a.drop !== true && a.close !== true && a.rst !== true && a.raw === undefined && a.rawBytes === undefined
  );
}

/** Drops undefined values so the result fits exactOptionalPropertyTypes. */
export function definedOnly(o: Record<string, unknown>): AnswerOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function newConnectionInfo(index: number, remotePort: number): ConnectionInfo {
  return {
    index,
    remotePort,
    handshakeDone: false,
    resumed: false,
    tlsVersion: null,
    alpnOffered: [],
    alpnProtocol: false,
    servername: false,
    queries: 0,
    bytesReceived: 0,
    loneOctets: 0,
    clientEnded: false,
    closed: false,
    error: undefined,
  };
}

/**
 * The queries without the copies dotstub sends of a fresh connection's first query when a TLS session
 * ticket comes before its answer (StreamConnection.nudge): the questions that were asked.
 */
export function withoutNudgeCopies(queries: readonly ReceivedQuery[]): ReceivedQuery[] {
  return queries.filter((q) => {
    if (q.queryIndexOnConnection !== 1) return true;
    const first = queries.find(
      (f) => f.connectionIndex === q.connectionIndex && f.queryIndexOnConnection === 0,
    );
    return first === undefined || !first.raw.subarray(2).equals(q.raw.subarray(2));
  });
}
