// Clear-text DNS server (UDP and TCP on the same loopback port) answering with the default answer.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import {
  buildAnswer,
  frame,
  FrameReader,
  parseQuery,
  type AnswerOptions,
  type ParsedQuery,
  type RcodeName,
} from './dns-answer.js';
import { sleep, waitFor } from './dns-messages.js';

export interface PlainQuery {
  transport: 'udp' | 'tcp';
  raw: Buffer;
  id: number;
  name: string;
  type: number;
  parsed: ParsedQuery;
  receivedAt: number;
  /** The client's source address and port (UDP: the datagram's; TCP: the connection's). */
  remoteAddress: string;
  remotePort: number;
}

export interface PlainAction {
  drop?: boolean;
  delayMs?: number;
  rcode?: RcodeName | number;
  bigTxtBytes?: number;
  truncated?: boolean;
  /** UDP only: raw datagrams sent to the client from the server's own socket before the answer. */
  sendFirst?: Buffer[];
}

export interface FakePlainOptions {
  host?: '127.0.0.1' | '::1';
  /** Answer every UDP query with TC=1 and no answer records. */
  truncateUdp?: boolean;
  /** Per-query behaviour; default answer. */
  onQuery?: (q: PlainQuery) => PlainAction | undefined;
  keepaliveTimeout?: number;
}

export class FakePlain {
  port = 0;
  readonly address: string;
  readonly queries: PlainQuery[] = [];
  /** Datagrams received, garbage included. */
  udpPackets = 0;
  tcpConnections = 0;
  /** TCP frames received, garbage included. */
  tcpQueries = 0;
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: FakePlainOptions) {
    this.address = opts.host ?? '127.0.0.1';
  }

  /** Binds UDP on port 0, then TCP on the same port; retries with a new port if TCP's is taken. */
  async listen(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = createSocket(this.address === '::1' ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, this.address, () => {
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = createServer((sock) => {
        this.onTcp(sock);
      });
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => {
          resolve(false);
        });
        tcp.listen(port, this.address, () => {
          resolve(true);
        });
      });
      if (ok) {
        this.udp = udp;
        this.tcp = tcp;
        this.port = port;
        udp.on('message', (msg, rinfo) => void this.onUdp(msg, rinfo.port, rinfo.address));
        udp.on('error', () => undefined);
        return;
      }
      udp.close();
    }
    throw new Error('could not bind UDP and TCP on one port');
  }

  private record(
    transport: 'udp' | 'tcp',
    raw: Buffer,
    remoteAddress: string,
    remotePort: number,
  ): PlainQuery | undefined {
    try {
      const parsed = parseQuery(raw);
      const q: PlainQuery = {
        transport,
        raw,
        id: parsed.id,
        name: parsed.name,
        type: parsed.type,
        parsed,
        receivedAt: Date.now(),
        remoteAddress,
        remotePort,
      };
      this.queries.push(q);
      return q;
    } catch {
      return undefined;
    }
  }

  private async respond(q: PlainQuery, extra: AnswerOptions): Promise<Buffer | undefined> {
    const action = this.opts.onQuery?.(q) ?? {};
    if (q.transport === 'udp')
      for (const datagram of action.sendFirst ?? []) this.udp?.send(datagram, q.remotePort, q.remoteAddress);
    if (action.delayMs !== undefined) await sleep(action.delayMs);
    if (action.drop === true) return undefined;
    const opts: AnswerOptions = { ...extra };
    if (this.opts.keepaliveTimeout !== undefined) opts.keepaliveTimeout = this.opts.keepaliveTimeout;
    if (action.rcode !== undefined) opts.rcode = action.rcode;
    if (action.bigTxtBytes !== undefined) opts.bigTxtBytes = action.bigTxtBytes;
    if (action.truncated !== undefined) opts.truncated = action.truncated;
    return buildAnswer(q.parsed, opts);
  }

  private async onUdp(msg: Buffer, port: number, address: string): Promise<void> {
    this.udpPackets++;
    const q = this.record('udp', msg, address, port);
    if (!q) return;
    let answer = await this.respond(q, this.opts.truncateUdp === true ? { truncated: true } : {});
    if (!answer) return;
    // Like a real server: over the client's limit (512 without EDNS) means TC=1 and no records.
    if (answer.length > (q.parsed.edns?.udpSize ?? 512)) answer = buildAnswer(q.parsed, { truncated: true });
    this.udp?.send(answer, port, address);
  }

  private onTcp(sock: Socket): void {
    this.tcpConnections++;
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    const reader = new FrameReader((payload) => {
      this.tcpQueries++;
      const q = this.record('tcp', payload, sock.remoteAddress ?? '', sock.remotePort ?? 0);
      if (!q) return;
      void this.respond(q, {}).then((answer) => {
        if (answer && !sock.destroyed) sock.write(frame(answer));
      });
    });
    sock.on('data', (chunk: Buffer) => {
      reader.push(chunk);
    });
  }

  waitForQueries(n: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.queries.length >= n, timeoutMs, `${n} plain queries`);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.udp?.close();
    const tcp = this.tcp;
    return new Promise((resolve) => {
      if (tcp)
        tcp.close(() => {
          resolve();
        });
      else resolve();
    });
  }
}

/** Starts a clear-text UDP+TCP DNS server on `opts.host` (default 127.0.0.1), one shared port. */
export async function startFakePlain(opts: FakePlainOptions = {}): Promise<FakePlain> {
  const server = new FakePlain(opts);
  await server.listen();
  return server;
}
