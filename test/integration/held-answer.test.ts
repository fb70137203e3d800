// The first octet of our next frame, sent ahead when an answer comes while other queries wait, so that a
// server with Nagle on gets our ACK at once (held-answer-nudge.ts). What is checked is the wire: the server
// reads a lone octet and then whole, correct queries; a frame too long to begin with 0 goes behind a
// query of our own whose answer is dropped; and a server that closes on the octet loses no query and gets
// whole frames from then on. The time saved is the benchmark's to show.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { callDaemon } from '../../src/cli/control-client.js';
import type { StatusSnapshot } from '../../src/control/status-types.js';
import { buildQuery, parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';

const slowFirst = (name: string): { delayMs: number } | undefined =>
  name.startsWith('slow') ? { delayMs: 300 } : name.startsWith('medium') ? { delayMs: 100 } : undefined;

describe('held answers (Nagle on the server): the first octet of the next frame goes ahead', () => {
  it('sends it once an answer comes with another query waiting; the next frame completes it', async () => {
    const up = await startFakeUpstream({ onQuery: (q) => slowFirst(q.name) });
    const stack = await startStack({ upstreams: [spec(up.port)] });
    try {
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('warm.held.example', 'A'))).rcode,
        'NOERROR',
      );
      const slow = udpQuery(stack.port, buildQuery('slow.held.example', 'A'));
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('fast.held.example', 'A'))).rcode,
        'NOERROR',
      );
      // fast's answer came while slow waited: the octet is out. A long name makes a frame of 256 octets or
      // more (padded to 128-octet blocks), which cannot begin with it: our own short query goes first.
      const longName = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.long.held.example`;
      const long = parseAnswer(await udpQuery(stack.port, buildQuery(longName, 'A')));
      assert.equal(long.rcode, 'NOERROR');
      assert.equal(parseAnswer(await slow).rcode, 'NOERROR');
      const after = parseAnswer(await udpQuery(stack.port, buildQuery('after.held.example', 'A')));
      assert.equal(after.rcode, 'NOERROR');

      const conn = up.connectionLog[0]!;
      assert.equal(up.connectionLog.length, 1, 'all on one connection');
      assert.ok(conn.loneOctets >= 1, 'the server read a lone octet');
      assert.deepEqual(up.garbage, [], 'and every frame whole');
      const ours = up.queries.filter((q) => q.type === 2);
      assert.equal(ours.length, 1, 'one query of our own, for the long frame');
      assert.ok(ours[0]!.name === '.' || ours[0]!.name === '', `the root's NS, got ${ours[0]!.name}`);
      assert.ok(up.queries.some((q) => q.name === longName.toLowerCase() || q.name === longName));
      assert.equal(
        stack.daemon.upstreams[0]!.counters.unmatchedAnswers,
        0,
        'its answer is expected, not a stray',
      );
    } finally {
      await stack.close();
      await up.close();
    }
  });

  it('sends a second octet when answers come one by one; a padded query completes the frame', async () => {
    const up = await startFakeUpstream({ onQuery: (q) => slowFirst(q.name) });
    const stack = await startStack({ upstreams: [spec(up.port)] });
    try {
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('warm.two.example', 'A'))).rcode,
        'NOERROR',
      );
      const slow = udpQuery(stack.port, buildQuery('slow.two.example', 'A'));
      const medium = udpQuery(stack.port, buildQuery('medium.two.example', 'A'));
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('fast.two.example', 'A'))).rcode,
        'NOERROR',
      );
      assert.equal(parseAnswer(await medium).rcode, 'NOERROR');
      assert.equal(parseAnswer(await slow).rcode, 'NOERROR');
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('after.two.example', 'A'))).rcode,
        'NOERROR',
      );
      assert.equal(up.connectionLog.length, 1);
      assert.equal(up.connectionLog[0]!.loneOctets, 2, 'one octet after fast, one after medium');
      assert.deepEqual(up.garbage, []);
      assert.equal(
        up.queries.filter((q) => q.type === 2).length,
        0,
        'the padded query was 128 octets: no query of ours',
      );
      assert.ok(up.queries.some((q) => q.name === 'after.two.example'));
    } finally {
      await stack.close();
      await up.close();
    }
  });

  it('loses no query to a server that closes on the octet, and sends it whole frames after', async () => {
    const up = await startFakeUpstream({ onQuery: (q) => slowFirst(q.name), closeOnLoneOctet: true });
    const path = join(mkdtempSync(join(tmpdir(), 'dotstub-held-')), 'control.sock');
    const stack = await startStack({ upstreams: [spec(up.port)], control: { path, required: true } });
    const splitFrames = async (): Promise<boolean | null | undefined> =>
      ((await callDaemon('status', undefined, { path })) as StatusSnapshot).upstreams[0]?.splitFrames;
    try {
      assert.equal(await splitFrames(), true, 'every server gets the octet until it closes on one');
      // A reused connection, so that what it had in flight is retried (RFC 7766 sec. 6.2.4).
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('warm.close.example', 'A'))).rcode,
        'NOERROR',
      );
      const slow = udpQuery(stack.port, buildQuery('slow.close.example', 'A'));
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('fast.close.example', 'A'))).rcode,
        'NOERROR',
      );
      assert.equal(parseAnswer(await slow).rcode, 'NOERROR', 'retried on a fresh connection');
      assert.ok(stack.log.some((l) => l.includes('sending whole frames only')));
      assert.equal(await splitFrames(), false, 'dotstub status shows the verdict');

      const slow2 = udpQuery(stack.port, buildQuery('slow2.close.example', 'A'));
      assert.equal(
        parseAnswer(await udpQuery(stack.port, buildQuery('fast2.close.example', 'A'))).rcode,
        'NOERROR',
      );
      assert.equal(parseAnswer(await slow2).rcode, 'NOERROR');
      assert.equal(up.connectionLog.length, 2, 'the second connection stayed up');
      assert.equal(up.connectionLog[1]!.loneOctets, 0);
    } finally {
      await stack.close();
      await up.close();
    }
  });
});
