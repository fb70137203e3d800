// Scriptable DNS-over-TLS (or clear TCP) upstream on loopback port 0 with fault injection and
// recording. A net.Server accepts; each socket is wrapped in a server-side tls.TLSSocket so a fault
// can still reset the raw TCP socket (TLSSocket.resetAndDestroy throws).
import { constants as cryptoConstants } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, Server as TlsServer, TLSSocket, type SecureContext } from 'node:tls';
import * as dnsPacket from 'dns-packet';
import {
  buildAnswer,
  frame,
  FrameReader,
  parseQuery,
  type AnswerOptions,
  type ParsedQuery,
} from './dns-answer.js';
import { sleep, waitFor } from './dns-messages.js';
import {
  definedOnly,
  newConnectionInfo,
  wantsAnswer,
  type ConnectionFault,
  type ConnectionInfo,
  type FakeUpstreamOptions,
  type QueryContext,
  type ReceivedQuery,
} from './fake-upstream-types.js';
import { getTestPki } from './test-certs.js';
export type * from './fake-upstream-types.js';

interface Conn {
  info: ConnectionInfo;
  raw: Socket;
  stream: Socket;
  held: Buffer[];
  pending: Set<Promise<void>>;
  closing: boolean;
}

export class FakeUpstream {
  port = 0;
  readonly address: string;
  readonly queries: ReceivedQuery[] = [];
  readonly garbage: Buffer[] = [];
  readonly connectionLog: ConnectionInfo[] = [];
  readonly errors: Error[] = [];
  handshakes = 0;
  resumptions = 0;
  bytesReceived = 0;
  onQuery: FakeUpstreamOptions['onQuery'];
  private readonly server: Server;
  private readonly live = new Set<Conn>();
  private readonly hub = new TlsServer();
  private readonly sessions = new Map<string, Buffer>();
  private readonly secureContext: SecureContext;

  constructor(private readonly opts: FakeUpstreamOptions) {
    this.address = opts.host ?? '127.0.0.1';
    this.onQuery = opts.onQuery;
    const pki = opts.tls === false ? undefined : getTestPki();
    const noTickets = opts.resumption === false || opts.sessionTickets === false;
    this.secureContext = createSecureContext({
      cert: opts.cert ?? pki?.leaf.chain,
      key: opts.key ?? pki?.leaf.key,
      minVersion: opts.minVersion ?? 'TLSv1.2',
      maxVersion: opts.maxVersion ?? 'TLSv1.3',
      secureOptions: noTickets ? cryptoConstants.SSL_OP_NO_TICKET : 0,
    });
    if (opts.resumption !== false) {
      // Session-ID cache: Node only keeps server sessions through these events on a tls.Server.
      this.hub.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
        this.sessions.set(id.toString('hex'), data);
        cb();
      });
      this.hub.on('resumeSession', (id: Buffer, cb: (err: null, data: Buffer | null) => void) => {
        cb(null, this.sessions.get(id.toString('hex')) ?? null);
      });
    }
    this.server = createServer({ pauseOnConnect: true }, (raw) => {
      this.accept(raw);
    });
  }

  /** Accepted TCP connections so far. */
  get connections(): number {
    return this.connectionLog.length;
  }

  get openConnections(): number {
    return this.live.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.address, () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private accept(raw: Socket): void {
    const index = this.connectionLog.length;
    const info = newConnectionInfo(index, raw.remotePort ?? 0);
    this.connectionLog.push(info);
    // As public DoT servers do (unbound does not): answers leave at once, not behind a session ticket
    // waiting for our delayed ACK. Tests of the nudge for such servers delay their answers instead.
    raw.setNoDelay(true);
    raw.on('error', (err) => {
      info.error ??= err;
    });
    const fault = this.opts.connectionFault?.(index) ?? this.staticFault();
    if (fault === 'rst') {
      raw.resetAndDestroy();
      info.closed = true;
      return;
    }
    const conn: Conn = { info, raw, stream: raw, held: [], pending: new Set(), closing: false };
    this.live.add(conn);
    raw.on('close', () => {
      info.closed = true;
      this.live.delete(conn);
    });
    if (fault === 'close') {
      raw.end();
      return;
    }
    if (fault === 'stall') {
      raw.on('data', () => undefined);
      raw.resume();
      return;
    }
    const delay = this.opts.acceptDelayMs ?? 0;
    if (delay > 0) {
      setTimeout(() => {
        this.start(conn);
      }, delay);
    } else this.start(conn);
  }

  private staticFault(): ConnectionFault | undefined {
    if (this.opts.rstOnConnect === true) return 'rst';
    return this.opts.stallHandshake === true ? 'stall' : undefined;
  }

  private start(conn: Conn): void {
    if (conn.raw.destroyed) return;
    const { info } = conn;
    if (this.opts.tls !== false) {
      const select =
        this.opts.alpnSelect ?? ((offered: string[]) => (offered.includes('dot') ? 'dot' : undefined));
      const tls = new TLSSocket(conn.raw, {
        isServer: true,
        secureContext: this.secureContext,
        server: this.hub,
        ALPNCallback: ({ protocols }) => {
          info.alpnOffered = protocols;
          return select(protocols);
        },
      });
      tls.on('secure', () => {
        info.handshakeDone = true;
        info.resumed = tls.isSessionReused();
        info.tlsVersion = tls.getProtocol();
        info.alpnProtocol = tls.alpnProtocol ?? false;
        info.servername = tls.servername ?? false;
        this.handshakes++;
        if (info.resumed) this.resumptions++;
      });
      tls.on('error', (err) => {
        info.error ??= err;
      });
      conn.stream = tls;
    }
    const reader = new FrameReader((payload) => {
      this.onFrame(conn, payload);
    });
    conn.stream.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      info.bytesReceived += chunk.length;
      if (chunk.length === 1) {
        info.loneOctets++;
        if (this.opts.closeOnLoneOctet === true) {
          conn.stream.destroy();
          return;
        }
      }
      reader.push(chunk);
    });
    conn.stream.on('end', () => (info.clientEnded = true));
    conn.raw.resume();
  }

  private onFrame(conn: Conn, payload: Buffer): void {
    let parsed: ParsedQuery;
    try {
      parsed = parseQuery(payload);
    } catch {
      this.garbage.push(payload);
      return;
    }
    let decoded: dnsPacket.DecodedPacket | undefined;
    try {
      decoded = dnsPacket.decode(payload);
    } catch {
      decoded = undefined;
    }
    const { info } = conn;
    const q: ReceivedQuery = {
      raw: payload,
      id: parsed.id,
      name: parsed.name,
      type: parsed.type,
      connectionIndex: info.index,
      queryIndexOnConnection: info.queries,
      receivedAt: Date.now(),
      parsed,
      decoded,
      ignored: conn.closing,
    };
    this.queries.push(q);
    if (conn.closing) return;
    info.queries++;
    const p = this.handle(conn, q).catch((err: unknown) => {
      this.errors.push(err instanceof Error ? err : new Error(String(err)));
    });
    conn.pending.add(p);
    void p.finally(() => conn.pending.delete(p));
    const limit = this.opts.closeAfterQueries;
    if (limit !== undefined && info.queries >= limit) {
      conn.closing = true;
      void Promise.allSettled([...conn.pending]).then(() => conn.stream.end());
    }
  }

  private context(conn: Conn, q: ReceivedQuery): QueryContext {
    const write = (b: Buffer): void => {
      if (!conn.stream.destroyed && conn.stream.writable) conn.stream.write(b);
    };
    return {
      connectionIndex: q.connectionIndex,
      queryIndexOnConnection: q.queryIndexOnConnection,
      connection: conn.info,
      answer: (opts = {}) => buildAnswer(q.parsed, { ...this.answerDefaults(), ...opts }),
      sendFrame: (payload) => {
        write(frame(payload));
      },
      sendRaw: write,
      releaseHeld: (opts = {}) => {
        const held = conn.held.splice(0);
        if (opts.reverse === true) held.reverse();
        for (const a of held) write(frame(a));
        return held.length;
      },
      end: () => conn.stream.end(),
      rst: () => conn.raw.resetAndDestroy(),
    };
  }

  private answerDefaults(): AnswerOptions {
    const { keepaliveTimeout, padAnswers, echoEdnsOptions } = this.opts;
    return definedOnly({ keepaliveTimeout, padAnswers, echoEdnsOptions });
  }

  private async handle(conn: Conn, q: ReceivedQuery): Promise<void> {
    const ctx = this.context(conn, q);
    const action = (await this.onQuery?.(q, ctx)) ?? {};
    if (action.delayMs !== undefined) await sleep(action.delayMs);
    if (conn.raw.destroyed) return;
    if (action.rst === true) {
      ctx.rst();
      return;
    }
    if (action.raw !== undefined) ctx.sendFrame(action.raw);
    if (action.rawBytes !== undefined) ctx.sendRaw(action.rawBytes);
    if (wantsAnswer(action)) {
      const {
        rcode,
        bigTxtBytes,
        keepaliveTimeout,
        truncated,
        answerWithId: id,
        answerWithName: name,
      } = action;
      const answer = ctx.answer(definedOnly({ rcode, bigTxtBytes, keepaliveTimeout, truncated, id, name }));
      const copies = action.duplicate === true ? [answer, answer] : [answer];
      if (action.hold === true) conn.held.push(...copies);
      else for (const a of copies) ctx.sendFrame(a);
      if (action.hold === true && action.release) ctx.releaseHeld(action.release);
    }
    if (action.close === true) ctx.end();
  }

  /** Sends every connection's held answers (in hold order, or reversed). */
  releaseHeld(opts: { reverse?: boolean } = {}): number {
    let n = 0;
    for (const conn of this.live) {
      const held = conn.held.splice(0);
      if (opts.reverse === true) held.reverse();
      for (const a of held) if (!conn.stream.destroyed) conn.stream.write(frame(a));
      n += held.length;
    }
    return n;
  }

  /** Ends (FIN) or resets every open connection, keeping the listener: "server closed idle connection". */
  dropConnections(mode: 'end' | 'rst' = 'end'): void {
    for (const conn of this.live) {
      if (mode === 'rst') conn.raw.resetAndDestroy();
      else conn.stream.end();
    }
  }

  waitForQueries(n: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.queries.length >= n, timeoutMs, `${n} queries (have ${this.queries.length})`);
  }

  /** Server-side handshakes complete after the client's in TLS 1.3; wait before asserting counts. */
  waitForHandshakes(n: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.handshakes >= n, timeoutMs, `${n} handshakes (have ${this.handshakes})`);
  }

  close(): Promise<void> {
    for (const conn of this.live) {
      conn.stream.destroy();
      conn.raw.destroy();
    }
    this.live.clear();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

/** Starts a fake upstream listening on `opts.host` (default 127.0.0.1) port 0. */
export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const upstream = new FakeUpstream(opts);
  await upstream.listen();
  return upstream;
}
