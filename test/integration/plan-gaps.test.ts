// Two items of the test plan the other files left out: C4 with labels holding 0xFF and a dot byte, and A2
// with a server that answers the TLS ClientHello with garbage.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { parseMessage } from '../../src/dns/wire.js';
import { parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';

describe('test plan gaps', () => {
  it('C4: labels holding 0xFF and a dot byte reach the upstream and come back byte for byte', async () => {
    const upstream = await startFakeUpstream({});
    const stack = await startStack({ upstreams: [spec(upstream.port)] });
    try {
      // "a\xff.b" as ONE label of 4 octets (a dot inside a label, RFC 4343 sec. 2.1), then "Ex", then root.
      const question = Buffer.from([4, 0x61, 0xff, 0x2e, 0x62, 2, 0x45, 0x78, 0, 0, 1, 0, 1]);
      const header = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      const query = Buffer.concat([header, question]);
      const answer = await udpQuery(stack.port, query);
      const got = upstream.queries.at(-1)!.raw;
      assert.ok(got.subarray(12, 12 + question.length).equals(question), 'question bytes unchanged upstream');
      const a = parseMessage(answer);
      assert.equal(a.id, 0x1234);
      assert.ok(
        answer.subarray(12, a.question!.end).equals(question),
        'question bytes unchanged in the answer',
      );
      assert.equal(parseAnswer(answer).rcode, 'NOERROR');
    } finally {
      await stack.close();
      await upstream.close();
    }
  });

  it('A2: a server that answers the handshake with garbage: SERVFAIL at once, backed off, the cause logged', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const garbage = createServer((s) => {
      connections++;
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    const port = (garbage.address() as AddressInfo).port;
    const stack = await startStack({ upstreams: [spec(port)] });
    try {
      const started = Date.now();
      const answer = parseAnswer(
        await udpQuery(stack.port, Buffer.from('abcd0100000100000000000001610000010001', 'hex')),
      );
      assert.equal(answer.rcode, 'SERVFAIL');
      assert.ok(Date.now() - started < 2000, `SERVFAIL after ${Date.now() - started} ms`);
      assert.equal(connections, 1);
      assert.equal(stack.daemon.resolver.upstreams[0]!.health.state.kind, 'backingOff');
      const line = stack.log.find((l) => l.includes('backing off'));
      assert.match(line ?? '', /cause=/);
      assert.doesNotMatch(line ?? '', /cause=""/);
    } finally {
      await stack.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => {
        garbage.close(() => {
          r();
        });
      });
    }
  });
});
