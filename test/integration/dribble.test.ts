// Test plan C3 through the real TCP listener: the largest frame there is (65535 octets), sent one octet per
// write, is reassembled and answered like any other query.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { encodeFrame } from '../../src/dns/length-prefix.js';
import { DEFAULT_TCP_LIMITS } from '../../src/server/tcp-listener.js';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

/** A query of exactly `size` octets: the name, then an EDNS padding option (RFC 7830) filling the rest. */
function queryOfSize(size: number): Buffer {
  const bare = buildQuery('big.example', 'A', {
    id: 0x4242,
    ednsOptions: [{ code: 12, data: Buffer.alloc(0) }],
  });
  const query = buildQuery('big.example', 'A', {
    id: 0x4242,
    ednsOptions: [{ code: 12, data: Buffer.alloc(size - bare.length) }],
  });
  assert.equal(query.length, size);
  return query;
}

function writeOne(socket: Socket, octet: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(Buffer.of(octet), (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

describe('a 65535-octet frame dribbled one octet at a time (C3)', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  before(async () => {
    upstream = await startFakeUpstream();
    // Reassembly is what is tested here, not the slowloris timer: give the dribble all the time it needs.
    stack = await startStack({
      upstreams: [spec(upstream.port)],
      tcp: { ...DEFAULT_TCP_LIMITS, partialFrameTimeoutMs: 60_000, idleTimeoutMs: 60_000 },
    });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  it('is reassembled and answered', async () => {
    const frame = encodeFrame(queryOfSize(65535));
    assert.equal(frame.length, 65537);
    const socket = connect(stack.port, '127.0.0.1');
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      for (const octet of frame) await writeOne(socket, octet);
      const deadline = Date.now() + 10_000;
      while (Buffer.concat(chunks).length < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const all = Buffer.concat(chunks);
      const length = all.readUInt16BE(0);
      while (Buffer.concat(chunks).length < 2 + length && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const answer = parseAnswer(Buffer.concat(chunks).subarray(2, 2 + length));
      assert.equal(answer.id, 0x4242);
      assert.equal(answer.rcode, 'NOERROR');
      assert.equal(upstream.queries.filter((q) => q.name === 'big.example').length, 1);
    } finally {
      socket.destroy();
    }
  });
});
