// A DoT client for listener tests: one TLS connection, pipelined queries, answers in arrival order, and
// what the handshake negotiated (resumption, the session to resume with, the server's certificate).
import { X509Certificate } from 'node:crypto';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { FrameReader, frame } from './dns-answer.js';

export interface DotExchange {
  answers: Buffer[];
  resumed: boolean;
  session: Buffer | undefined;
  cert: X509Certificate | undefined;
  protocol: string | null;
}

export interface DotClientOptions {
  readonly tls?: ConnectionOptions;
  readonly timeoutMs?: number;
}

/** Connects to 127.0.0.1:port, sends `queries` in one write, waits for as many answers, closes. */
export function dotExchange(
  port: number,
  queries: Buffer[],
  opts: DotClientOptions = {},
): Promise<DotExchange> {
  const answers: Buffer[] = [];
  let session: Buffer | undefined;
  return new Promise<DotExchange>((resolve, reject) => {
    const sock: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts.tls });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`DoT exchange timed out after ${answers.length}/${queries.length} answers`));
    }, opts.timeoutMs ?? 3000);
    const finish = (): void => {
      clearTimeout(timer);
      const raw = sock.getPeerX509Certificate();
      resolve({
        answers,
        resumed: sock.isSessionReused(),
        session,
        cert: raw,
        protocol: sock.getProtocol(),
      });
      sock.end();
    };
    // TLS 1.3 tickets arrive after the handshake: wait for one (or the answers) before finishing.
    sock.on('session', (s: Buffer) => {
      session = s;
      if (answers.length >= queries.length) finish();
    });
    sock.on('secureConnect', () => {
      sock.write(Buffer.concat(queries.map(frame)));
    });
    const reader = new FrameReader((answer) => {
      answers.push(answer);
      if (answers.length === queries.length && (session !== undefined || sock.isSessionReused())) finish();
    });
    sock.on('data', (chunk: Buffer) => {
      reader.push(chunk);
    });
    sock.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (answers.length < queries.length) reject(new Error(`closed after ${answers.length} answers`));
    });
  });
}
