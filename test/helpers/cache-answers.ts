// Hand-built upstream answers for cache tests: positive, NXDOMAIN/NODATA with or without an SOA, SERVFAIL.
import { parseMessage, type ParsedMessage } from '../../src/dns/wire.js';
import type { ResolveResult } from '../../src/resolver/resolver.js';
import type { UpstreamAnswer, UpstreamTransport } from '../../src/upstream/upstream.js';
import { encodeName, encodeOpt, encodeRecord, type EdnsOption } from './dns-answer.js';

export interface Shape {
  rcode?: number;
  /** TTLs of A records in the answer section. */
  answers?: number[];
  /** An SOA in the authority section. */
  soa?: { ttl: number; minimum: number };
  /** Options in the answer's OPT (when the query had one). */
  options?: EdnsOption[];
}

function soaRdata(minimum: number): Buffer {
  const counters = Buffer.alloc(20);
  counters.writeUInt32BE(2026112201, 0);
  counters.writeUInt32BE(7200, 4);
  counters.writeUInt32BE(3600, 8);
  counters.writeUInt32BE(1209600, 12);
  counters.writeUInt32BE(minimum, 16);
  return Buffer.concat([encodeName('ns.example'), encodeName('hostmaster.example'), counters]);
}

/** The answer an upstream would give to `query`, in the given shape (ID as in the query). */
export function shapedAnswer(query: Buffer, shape: Shape): Buffer {
  const msg = parseMessage(query);
  const q = msg.question!;
  const header = Buffer.from(query.subarray(0, 12));
  header[2] = 0x80 | (query[2]! & 0x79);
  header[3] = 0x80 | (query[3]! & 0x10) | (shape.rcode ?? 0);
  const answers = (shape.answers ?? []).map((ttl, i) =>
    encodeRecord(1, 1, ttl, Buffer.from([192, 0, 2, i + 1])),
  );
  const authority =
    shape.soa === undefined ? [] : [encodeRecord(6, 1, shape.soa.ttl, soaRdata(shape.soa.minimum))];
  const opt =
    msg.opt === undefined ? [] : [encodeOpt(1232, (msg.opt.ttlField & 0x8000) !== 0, shape.options ?? [])];
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(authority.length, 8);
  header.writeUInt16BE(opt.length, 10);
  return Buffer.concat([header, query.subarray(12, q.end), ...answers, ...authority, ...opt]);
}

/** A resolver result as the real resolver makes it, from an upstream answer. */
export function resultFor(
  query: Buffer,
  msg: ParsedMessage,
  answer: Buffer,
  how: { transport?: UpstreamTransport; authenticated?: boolean } = {},
): ResolveResult {
  const transport = how.transport ?? 'tls';
  const upstream: UpstreamAnswer = {
    answer,
    msg: parseMessage(answer),
    transport,
    ...(transport === 'tls'
      ? {
          auth: {
            authenticated: how.authenticated ?? true,
            method: 'name' as const,
            resumed: false,
            tlsVersion: 'TLSv1.3',
            cipher: 'TLS_AES_128_GCM_SHA256',
          },
        }
      : {}),
  };
  const client = Buffer.from(answer);
  client.writeUInt16BE(msg.id, 0);
  return { answer: client, via: { upstream: 'fake', answer: upstream, rttMs: 1 } };
}
