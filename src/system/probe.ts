/**
 * Does something answer DNS at an address? One real query over UDP ("." NS, which any working resolver can
 * answer) with a short timeout. `dotstub system enable` refuses unless dotstub answers, so the machine is never
 * pointed at a resolver that is not there.
 */
import { Buffer } from 'node:buffer';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { HostPort } from '../config/addresses.js';

export type ProbeResult =
  { readonly ok: true; readonly rcode: number } | { readonly ok: false; readonly reason: string };

/** RFC 1035 §4.1: header (ID, RD set, one question), root name, type NS (2), class IN (1). */
function rootNsQuery(id: Buffer): Buffer {
  return Buffer.concat([id, Buffer.from([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1])]);
}

export function probeDns(target: HostPort, timeoutMs = 2000): Promise<ProbeResult> {
  const id = randomBytes(2);
  const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  return new Promise<ProbeResult>((resolve) => {
    const done = (r: ProbeResult): void => {
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const timer = setTimeout(() => {
      done({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.on('message', (msg) => {
      // Only our answer counts: same ID, QR set.
      if (msg.length < 12 || !msg.subarray(0, 2).equals(id) || (msg[2] ?? 0) < 0x80) return;
      const rcode = (msg[3] ?? 0) & 0x0f;
      done(
        rcode === 2
          ? { ok: false, reason: 'it answered SERVFAIL: its upstreams do not work' }
          : { ok: true, rcode },
      );
    });
    socket.on('error', (err) => {
      done({ ok: false, reason: err.message });
    });
    socket.send(rootNsQuery(id), target.port, target.host);
  });
}
