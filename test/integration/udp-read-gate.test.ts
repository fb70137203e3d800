// The UDP read gate through a running daemon (src/server/udp-read-gate.ts): with GATE_HIGH queries in
// flight and answers coming, the rest of a client's burst waits in the socket's receive buffer and is
// read as answers free room, none lost; with an upstream that answers nothing, the gate opens after
// STALL_MS and every query reaches the upstream long before the timeout.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { GATE_HIGH } from '../../src/server/udp-read-gate.js';
import { buildQuery, parseAnswer, sleep } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';

const BURST = GATE_HIGH + 150;

/** Sends `n` queries at once from one socket; resolves with the answers' RCODEs by query index. */
async function burst(port: number, n: number, timeoutMs: number): Promise<(string | undefined)[]> {
  const socket = createSocket('udp4');
  const rcodes: (string | undefined)[] = new Array<string | undefined>(n).fill(undefined);
  let answered = 0;
  const done = new Promise<void>((resolve) => {
    socket.on('message', (m) => {
      const a = parseAnswer(m);
      if (rcodes[a.id] === undefined) answered++;
      rcodes[a.id] = a.rcode;
      if (answered === n) resolve();
    });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setRecvBufferSize(1 << 20);
  for (let i = 0; i < n; i++)
    socket.send(buildQuery(`n${i}.gate.example`, 'A', { id: i }), port, '127.0.0.1');
  await Promise.race([done, sleep(timeoutMs)]);
  socket.close();
  return rcodes;
}

describe('UDP read gate', () => {
  it('leaves what is past GATE_HIGH in the kernel while answers come, then answers it all', async () => {
    // Answers trickle, one a millisecond: the queue moves, as at the daemon's maximum rate.
    const up = await startFakeUpstream({ onQuery: (q) => ({ delayMs: q.queryIndexOnConnection }) });
    const stack = await startStack({
      upstreams: [spec(up.port)],
      maxInFlightPerConnection: 1000,
      maxConnectionsPerUpstream: 1,
    });
    try {
      const pending = burst(stack.port, BURST, 5000);
      await up.waitForQueries(GATE_HIGH, 2000);
      // Query k is answered k ms after it came: GATE_LOW is reached some 100 ms after GATE_HIGH.
      await sleep(20);
      const seen = up.queries.length;
      assert.ok(seen < BURST - 50, `the rest left in the kernel for now (${seen} of ${BURST} read)`);
      const rcodes = await pending;
      assert.deepEqual(
        rcodes.filter((r) => r !== 'NOERROR'),
        [],
        'every query answered, none lost in the wait',
      );
      assert.equal(up.queries.length, BURST);
      const pauses = stack.daemon.counters.udpReadPauses;
      assert.ok(pauses >= 1, `status counts the pauses (${pauses})`);
    } finally {
      await stack.close();
      await up.close();
    }
  });

  it('opens when the upstream answers nothing: every query reaches it long before the timeout', async () => {
    const up = await startFakeUpstream({ onQuery: () => ({ drop: true }) });
    const stack = await startStack({
      upstreams: [spec(up.port)],
      maxInFlightPerConnection: 1000,
      maxConnectionsPerUpstream: 1,
      timeoutMs: 3000,
    });
    try {
      const pending = burst(stack.port, BURST, 5000);
      // Held at GATE_HIGH for STALL_MS at most, then read on: far inside the 3 s timeout.
      await up.waitForQueries(BURST, 1000);
      const rcodes = await pending;
      assert.deepEqual(
        rcodes.filter((r) => r !== 'SERVFAIL'),
        [],
        'SERVFAIL for all at the timeout',
      );
    } finally {
      await stack.close();
      await up.close();
    }
  });
});
