// Test plan E3 and E4: slowloris (idle connections and half-sent frames) and a client that pipelines
// thousands of queries and never reads. The daemon's timeouts and caps free what they hold, memory stays
// bounded, and other clients are answered meanwhile.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { encodeFrame } from '../../src/dns/length-prefix.js';
import { buildQuery, parseAnswer, tcpQuery, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { collectGarbage, heapMiB, sampleMemory, trackUnhandled } from '../helpers/load.js';
import { spec, startStack } from '../helpers/stack.js';

interface Held {
  sock: Socket;
  closed: boolean;
  openedAt: number;
  closedAt: number;
}

/** Opens `n` connections, 50 at a time (a bigger SYN burst overflows some sandboxes' loopback queue). */
async function openMany(port: number, n: number, first?: Buffer): Promise<Held[]> {
  const out: Held[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => {
      const held: Held = {
        sock: connect(port, '127.0.0.1'),
        closed: false,
        openedAt: Date.now(),
        closedAt: 0,
      };
      held.sock.on('error', () => undefined);
      held.sock.on('close', () => {
        held.closed = true;
        held.closedAt = Date.now();
      });
      return held;
    });
    await Promise.all(
      batch.map(
        (h) =>
          new Promise<void>((resolve) => {
            h.sock.once('connect', () => {
              if (first !== undefined) h.sock.write(first);
              resolve();
            });
            h.sock.once('close', () => {
              resolve();
            });
          }),
      ),
    );
    out.push(...batch);
  }
  return out;
}

const tcpSockets = (): number => process.getActiveResourcesInfo().filter((k) => k === 'TCPSocketWrap').length;

describe('abusive TCP clients (test plan E3, E4)', () => {
  it('E3: 300 idle and 300 half-frame connections are cut by their timeouts, the cap holds, others are served', async () => {
    const upstream = await startFakeUpstream({});
    const cap = 700;
    const stack = await startStack({
      upstreams: [spec(upstream.port)],
      tcp: {
        maxConnections: cap,
        idleTimeoutMs: 6000,
        partialFrameTimeoutMs: 2000,
        maxInFlightPerClient: 16,
        maxPendingOutputBytes: 1 << 20,
      },
    });
    try {
      await udpQuery(stack.port, buildQuery('warm.example', 'A')); // the upstream connection is up
      const baseline = tcpSockets();
      const idle = await openMany(stack.port, 300);
      // A length prefix announcing 40 bytes, and 3 of them.
      const partial = await openMany(stack.port, 300, Buffer.from([0, 40, 1, 2, 3]));
      const started = Date.now();
      const [viaTcp] = await tcpQuery(stack.port, [buildQuery('fresh.example', 'A')], { timeoutMs: 3000 });
      assert.equal(parseAnswer(viaTcp!).rcode, 'NOERROR');
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('fresh-udp.example', 'A'))).rcode,
        'NOERROR',
      );
      assert.ok(Date.now() - started < 2000, `fresh clients served in ${Date.now() - started} ms`);
      // Past the cap (600 held, room for 100 more), new connections are closed at once: long before the
      // 6 s idle timeout could have closed them.
      const extra = await openMany(stack.port, 150);
      await waitFor(
        () => extra.filter((h) => h.closed).length >= 50,
        3000,
        'connections past the cap to close',
      ).catch(() => undefined);
      const refused = extra.filter((h) => h.closed && h.closedAt - h.openedAt < 3000).length;
      assert.ok(refused >= 25 && refused <= 150, `${refused} of 150 connections past the cap closed at once`);
      // The timeouts free everything, without any help from the clients.
      await waitFor(
        () => [...idle, ...partial, ...extra].every((h) => h.closed),
        15_000,
        'the daemon to close them all',
      );
      const [after] = await tcpQuery(stack.port, [buildQuery('after.example', 'A')], { timeoutMs: 3000 });
      assert.equal(parseAnswer(after!).rcode, 'NOERROR');
      await waitFor(
        () => tcpSockets() <= baseline,
        3000,
        `TCP sockets back to ${baseline} (have ${tcpSockets()})`,
      );
      assert.equal(upstream.queries.length, 4, 'only the real queries reached the upstream');
    } finally {
      await stack.close();
      await upstream.close();
    }
  });

  it('E4: a client that pipelines 5,000 queries and never reads is cut off; memory stays bounded', async () => {
    const upstream = await startFakeUpstream({
      onQuery: (q) => (q.name.startsWith('flood') ? { answer: true, bigTxtBytes: 3000 } : undefined),
    });
    const stack = await startStack({
      upstreams: [spec(upstream.port)],
      tcp: {
        maxConnections: 64,
        idleTimeoutMs: 5000,
        partialFrameTimeoutMs: 3000,
        maxInFlightPerClient: 32,
        maxPendingOutputBytes: 256 * 1024,
      },
    });
    const unhandled = trackUnhandled();
    collectGarbage();
    const heapStart = heapMiB();
    const memory = sampleMemory();
    try {
      const sock = connect(stack.port, '127.0.0.1');
      sock.on('error', () => undefined);
      await new Promise<void>((r) => sock.once('connect', r));
      sock.pause(); // never reads
      sock.write(
        Buffer.concat(
          Array.from({ length: 5000 }, (_, i) =>
            encodeFrame(buildQuery(`flood${i}.example`, 'TXT', { id: i })),
          ),
        ),
      );
      const cutOff = (): boolean =>
        stack.log.some((l) => l.includes('closed a TCP client that does not read its answers'));
      const [bystander] = await tcpQuery(stack.port, [buildQuery('bystander.example', 'A')], {
        timeoutMs: 5000,
      });
      assert.equal(parseAnswer(bystander!).rcode, 'NOERROR');
      await waitFor(cutOff, 10_000, 'the flooding client to be cut off');
      const flood = upstream.queries.filter((q) => q.name.startsWith('flood')).length;
      // Reading pauses at 32 in flight, and 256 KiB of unread answers past what the kernel's socket buffers
      // took (a few MiB on loopback, ~3 KiB an answer) ends it: far fewer than 5,000 go out.
      assert.ok(flood < 3000, `${flood} flood queries forwarded`);
      await waitFor(
        () => stack.daemon.resolver.outstanding === 0,
        5000,
        'queries of the cut-off client to finish',
      );
      assert.ok(stack.daemon.upstreams[0]!.connections.every((c) => c.inFlight === 0));
      const peak = memory.stop();
      assert.ok(
        peak.heapMiB - heapStart < 64,
        `heap grew by ${(peak.heapMiB - heapStart).toFixed(0)} MiB at its peak`,
      );
      sock.destroy();
      collectGarbage();
      assert.ok(heapMiB() - heapStart < 16, `heap ${heapStart.toFixed(0)} -> ${heapMiB().toFixed(0)} MiB`);
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('after.example', 'A'))).rcode,
        'NOERROR',
      );
      unhandled.stop();
      assert.deepEqual(unhandled.errors, []);
    } finally {
      unhandled.stop();
      memory.stop();
      await stack.close();
      await upstream.close();
    }
  });
});
