// The UDP listeners' read gate: when it shuts and opens, that a stall opens it for good until answers
// come again, and that the switch it uses really stops and starts a dgram socket's reads on this Node.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  GATE_HIGH,
  GATE_LOW,
  readSwitch,
  STALL_MS,
  UdpReadGate,
  type ReadSwitch,
} from '../../src/server/udp-read-gate.js';
import { sleep } from '../helpers/dns-messages.js';
import { ManualClock } from '../helpers/manual-clock.js';

class FakeSwitch implements ReadSwitch {
  reading = true;
  stop(): void {
    this.reading = false;
  }
  start(): void {
    this.reading = true;
  }
}

function setup(): {
  clock: ManualClock;
  gate: UdpReadGate;
  load: { outstanding: number; answered: number };
  sw: FakeSwitch;
} {
  const clock = new ManualClock();
  const load = { outstanding: 0, answered: 0 };
  const gate = new UdpReadGate(
    () => load.outstanding,
    () => load.answered,
    clock,
  );
  const sw = new FakeSwitch();
  gate.addSwitch(sw);
  return { clock, gate, load, sw };
}

describe('UdpReadGate', () => {
  it('pauses and resumes on the load, and stops pausing while the upstreams stall', () => {
    const { clock, gate, load, sw } = setup();
    load.outstanding = GATE_HIGH - 1;
    gate.afterQuery();
    assert.equal(sw.reading, true, 'below GATE_HIGH: reading');
    load.outstanding = GATE_HIGH;
    gate.afterQuery();
    assert.equal(sw.reading, false, 'at GATE_HIGH: paused');
    assert.equal(gate.pauses, 1);
    load.outstanding = GATE_LOW + 1;
    load.answered += GATE_HIGH - GATE_LOW - 1;
    gate.afterAnswer();
    assert.equal(sw.reading, false, 'above GATE_LOW: still paused');
    clock.advance(STALL_MS);
    assert.equal(sw.reading, false, 'answers came in the last STALL_MS: no stall');
    load.outstanding = GATE_LOW;
    load.answered++;
    gate.afterAnswer();
    assert.equal(sw.reading, true, 'at GATE_LOW: reading again');

    // The upstreams stop answering with GATE_HIGH in flight: one STALL_MS pause, then no more.
    load.outstanding = GATE_HIGH + 10;
    gate.afterQuery();
    assert.equal(sw.reading, false);
    clock.advance(STALL_MS);
    assert.equal(sw.reading, true, 'no answer in STALL_MS: open');
    for (let i = 0; i < 5; i++) gate.afterQuery();
    assert.equal(sw.reading, true, 'and it stays open while nothing is answered');
    assert.equal(gate.pauses, 2);
    load.answered++;
    gate.afterQuery();
    assert.equal(sw.reading, false, 'answers again: gating again');
    gate.clear();
    assert.equal(sw.reading, true, 'clear() reads again');
  });

  it('opens within STALL_MS when the room was freed by answers it did not hear of', () => {
    const { clock, gate, load, sw } = setup();
    load.outstanding = GATE_HIGH;
    gate.afterQuery();
    assert.equal(sw.reading, false);
    load.outstanding = GATE_LOW;
    load.answered += GATE_HIGH - GATE_LOW;
    clock.advance(STALL_MS);
    assert.equal(sw.reading, true);
  });

  it('stops a switch added while shut, and leaves a removed one alone', () => {
    const { gate, load, sw } = setup();
    load.outstanding = GATE_HIGH;
    load.answered = 1;
    gate.afterQuery();
    const late = new FakeSwitch();
    gate.addSwitch(late);
    assert.equal(late.reading, false, 'a listener added while shut waits with the others');
    gate.remove(sw);
    load.outstanding = 0;
    gate.afterAnswer();
    assert.equal(late.reading, true);
    assert.equal(sw.reading, false, 'removed (its listener closing): not started again');
  });

  it('stops and starts the reads of a real dgram socket', async () => {
    const server = createSocket('udp4');
    const client = createSocket('udp4');
    try {
      server.bind(0, '127.0.0.1');
      await once(server, 'listening');
      const sw = readSwitch(server);
      assert.ok(sw !== undefined, `Node ${process.version} offers the handle's recvStop/recvStart`);
      const got: string[] = [];
      server.on('message', (m) => got.push(m.toString()));
      const port = server.address().port;
      sw.stop();
      client.send('held', port, '127.0.0.1');
      await sleep(100);
      assert.deepEqual(got, [], 'stopped: the datagram waits in the kernel');
      sw.start();
      await sleep(100);
      assert.deepEqual(got, ['held'], 'started: it is read, nothing lost');
    } finally {
      server.close();
      client.close();
    }
  });
});
