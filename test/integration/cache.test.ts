// The answer cache through the real listeners and a fake DoT upstream: coalescing (what the upstream saw),
// client shape and TC of cached answers, control methods and the `dotstub cache` command.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DEFAULT_CACHE_CONFIG } from '../../src/cache/cache-options.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { buildQuery, parseAnswer, tcpQuery, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args);

describe('cache through the listeners', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  let dir: string;
  let control: string;
  const seen = (name: string): number => upstream.queries.filter((q) => q.name === name).length;

  before(async () => {
    upstream = await startFakeUpstream({ padAnswers: true, keepaliveTimeout: 100 });
    dir = mkdtempSync(join(tmpdir(), 'dotstub-cache-'));
    control = join(dir, 'control.sock');
    stack = await startStack({
      upstreams: [spec(upstream.port)],
      cache: DEFAULT_CACHE_CONFIG,
      control: { path: control, required: true },
    });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    upstream.onQuery = undefined;
  });

  it('coalesces 50 identical concurrent queries into one upstream query, each client getting its own ID', async () => {
    upstream.onQuery = (q) => (q.name === 'burst.example' ? { delayMs: 300 } : undefined);
    const ids = Array.from({ length: 50 }, (_, i) => 1000 + i);
    const answers = await Promise.all(
      ids.map((id) => udpQuery(stack.port, buildQuery('burst.example', 'A', { id }), { timeoutMs: 5000 })),
    );
    assert.equal(seen('burst.example'), 1, 'the upstream saw one query');
    const parsed = answers.map(parseAnswer);
    assert.deepEqual(
      parsed.map((a) => a.id),
      ids,
    );
    for (const a of parsed) {
      assert.equal(a.rcode, 'NOERROR');
      assert.equal((a.answers![0] as { data: string }).data, '192.0.2.1');
    }
    const stats = stack.daemon.cache!.stats();
    assert.equal(stats.coalesced, 49);
  });

  it('answers again from the cache, without padding or keepalive, as the client asked', async () => {
    const first = parseAnswer(
      await udpQuery(stack.port, buildQuery('shape.example', 'A', { id: 1, udpSize: 1232 })),
    );
    const again = parseAnswer(
      await udpQuery(stack.port, buildQuery('SHAPE.example', 'A', { id: 2, rd: false, udpSize: 1232 })),
    );
    assert.equal(seen('shape.example'), 1);
    assert.equal(again.id, 2);
    assert.equal(again.rd, false);
    assert.equal(again.question?.name, 'SHAPE.example');
    assert.deepEqual(again.edns?.options, [], 'no padding, no keepalive');
    assert.equal(first.paddingLength, undefined);
    const plain = parseAnswer(
      await udpQuery(stack.port, buildQuery('shape.example', 'A', { id: 3, edns: false })),
    );
    assert.equal(plain.edns, undefined);
    assert.equal(plain.id, 3);
  });

  it('truncates a cached answer too big for the client UDP size, which then gets it whole over TCP', async () => {
    upstream.onQuery = (q) => (q.name === 'big.example' ? { bigTxtBytes: 1500 } : undefined);
    const [overTcp] = await tcpQuery(stack.port, [
      buildQuery('big.example', 'TXT', { id: 5, udpSize: 4096 }),
    ]);
    assert.equal(parseAnswer(overTcp!).tc, false);
    const small = parseAnswer(
      await udpQuery(stack.port, buildQuery('big.example', 'TXT', { id: 6, udpSize: 512 })),
    );
    assert.equal(small.tc, true);
    assert.equal(small.id, 6);
    assert.equal(small.answers?.length, 0);
    const [again] = await tcpQuery(stack.port, [buildQuery('big.example', 'TXT', { id: 7, udpSize: 512 })]);
    const whole = parseAnswer(again!);
    assert.equal(whole.tc, false);
    assert.equal(whole.id, 7);
    assert.ok((whole.answers?.length ?? 0) > 1);
    assert.equal(seen('big.example'), 1);
  });

  it('serves cache.stats and cache.flush on the control socket', async () => {
    await udpQuery(stack.port, buildQuery('flush.example', 'A'));
    await udpQuery(stack.port, buildQuery('flush.example', 'AAAA'));
    await udpQuery(stack.port, buildQuery('keep.example', 'A'));
    const before = (await callDaemon('cache.stats', undefined, { path: control })) as Record<string, number>;
    assert.ok(before.entries! >= 3);
    const flushed = (await callDaemon('cache.flush', { name: 'Flush.Example' }, { path: control })) as {
      removed: number;
    };
    assert.equal(flushed.removed, 2);
    await udpQuery(stack.port, buildQuery('flush.example', 'A'));
    await udpQuery(stack.port, buildQuery('keep.example', 'A'));
    assert.equal(seen('flush.example'), 3);
    assert.equal(seen('keep.example'), 1);
    await assert.rejects(callDaemon('cache.flush', { name: 5 }, { path: control }), /not a domain name/);
  });

  it('`dotstub cache stats --json` and `dotstub cache flush` talk to the daemon', async () => {
    const stats = await cli(['cache', 'stats', '--json', '--control', control]);
    assert.equal(stats.code, 0, stats.stderr);
    const parsed = JSON.parse(stats.stdout) as Record<string, unknown>;
    for (const key of [
      'entries',
      'bytes',
      'hits',
      'misses',
      'prefetches',
      'staleServed',
      'evictions',
      'coalesced',
    ])
      assert.equal(typeof parsed[key], 'number', key);
    const text = await cli(['cache', 'stats', '--control', control]);
    assert.match(text.stdout, /^hits\s+\d+$/m);
    const flush = await cli(['cache', 'flush', '--control', control]);
    assert.equal(flush.code, 0, flush.stderr);
    assert.match(flush.stdout, /^flushed \d+ entr(y|ies)$/m);
    assert.equal(stack.daemon.cache!.stats().entries, 0);
    const usage = await cli(['cache', 'bogus']);
    assert.equal(usage.code, 64);
  });
});

describe('cache disabled', () => {
  it('forwards every query when cache.enabled is false', async () => {
    const upstream = await startFakeUpstream();
    const stack = await startStack({
      upstreams: [spec(upstream.port)],
      cache: { ...DEFAULT_CACHE_CONFIG, enabled: false },
    });
    try {
      await udpQuery(stack.port, buildQuery('again.example', 'A'));
      await udpQuery(stack.port, buildQuery('again.example', 'A'));
      assert.equal(upstream.queries.length, 2);
      assert.equal(stack.daemon.cache, undefined);
    } finally {
      await stack.close();
      await upstream.close();
    }
  });
});
