// The cache in front of the resolver, on a manual clock: TTL countdown, expiry, serve-stale (RFC 8767),
// prefetch, privacy partitions, client shape of cached answers, flush.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CACHE_CONFIG, type CacheConfig } from '../../src/cache/cache-options.js';
import { deliver } from '../../src/resolver/resolve-listener.js';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { errorAnswer } from '../../src/dns/edns.js';
import { parseMessage, RCODE, type ParsedMessage } from '../../src/dns/wire.js';
import type { ResolveResult } from '../../src/resolver/resolver.js';
import type { UsageProfile } from '../../src/upstream/usage-profile.js';
import { deferred } from '../../src/util/deferred.js';
import { createLogger } from '../../src/util/logger.js';
import { resultFor, shapedAnswer, type Shape } from '../helpers/cache-answers.js';
import { buildQuery, parseAnswer, type QueryOptions } from '../helpers/dns-messages.js';
import { ManualClock } from '../helpers/manual-clock.js';

type Respond = (query: Buffer, msg: ParsedMessage) => ResolveResult | Promise<ResolveResult>;

const answerWith =
  (shape: Shape, how?: Parameters<typeof resultFor>[3]): Respond =>
  (query, msg) =>
    resultFor(query, msg, shapedAnswer(query, shape), how);
const localServfail: Respond = (query, msg) => ({ answer: errorAnswer(query, msg, RCODE.SERVFAIL) });

function setup(config: Partial<CacheConfig> = {}, profiles: UsageProfile[] = ['strict']) {
  const clock = new ManualClock();
  const calls: Buffer[] = [];
  let respond: Respond = answerWith({ answers: [300] });
  const cache = new ResponseCache({
    config: { ...DEFAULT_CACHE_CONFIG, ...config },
    profiles,
    resolver: {
      dispatch: (query, msg, done) => {
        calls.push(query);
        void Promise.resolve(respond(query, msg)).then((result) => {
          deliver(done, result);
        });
      },
    },
    clock,
    logger: createLogger({ level: 'error', write: () => undefined }),
  });
  const ask = async (name = 'www.example', opts: QueryOptions = {}) => {
    const query = buildQuery(name, 'A', { id: 4242, ...opts });
    return parseAnswer((await cache.resolve(query, parseMessage(query))).answer);
  };
  return {
    clock,
    calls,
    cache,
    ask,
    set respond(r: Respond) {
      respond = r;
    },
  };
}

const ttls = (a: ReturnType<typeof parseAnswer>) =>
  [...(a.answers ?? []), ...(a.authorities ?? [])].map((r) => (r as { ttl?: number }).ttl);

describe('response cache', () => {
  it('answers a repeated question from memory, TTL counted down by whole elapsed seconds', async () => {
    const t = setup({ prefetch: false });
    assert.deepEqual(ttls(await t.ask()), [300]);
    t.clock.advance(10_900);
    const hit = await t.ask();
    assert.deepEqual(ttls(hit), [290]);
    assert.equal(t.calls.length, 1);
    t.clock.advance(289_000); // 299.9 s after storing: still fresh, TTL 1
    assert.deepEqual(ttls(await t.ask()), [1]);
    t.clock.advance(100); // 300 s: expired
    await t.ask();
    assert.equal(t.calls.length, 2);
    const stats = t.cache.stats();
    assert.equal(stats.hits, 2);
    assert.equal(stats.misses, 2);
  });

  it('counts the SOA of a cached NXDOMAIN down from min(SOA TTL, MINIMUM), and re-asks after it (RFC 2308)', async () => {
    const t = setup();
    t.respond = answerWith({ rcode: 3, soa: { ttl: 3600, minimum: 60 } });
    assert.deepEqual(ttls(await t.ask('gone.example')), [3600], 'the first client gets the upstream answer');
    t.clock.advance(30_000);
    const hit = await t.ask('gone.example');
    assert.equal(hit.rcode, 'NXDOMAIN');
    assert.deepEqual(ttls(hit), [30]);
    t.clock.advance(30_000);
    await t.ask('gone.example');
    assert.equal(t.calls.length, 2);
  });

  it('does not cache NXDOMAIN without an SOA, and keeps SERVFAIL only a few seconds', async () => {
    const t = setup();
    t.respond = answerWith({ rcode: 3 });
    await t.ask('a.example');
    await t.ask('a.example');
    assert.equal(t.calls.length, 2);
    t.respond = answerWith({ rcode: 2 });
    await t.ask('b.example');
    t.clock.advance(4_000);
    assert.equal((await t.ask('b.example')).rcode, 'SERVFAIL');
    assert.equal(t.calls.length, 3, 'the SERVFAIL came from the cache');
    t.clock.advance(1_000);
    await t.ask('b.example');
    assert.equal(t.calls.length, 4);
  });

  it('applies maxTtl and minTtl', async () => {
    const capped = setup({ maxTtl: 100 });
    capped.respond = answerWith({ answers: [3600] });
    assert.deepEqual(ttls(await capped.ask()), [3600], 'the first client gets the upstream answer');
    assert.deepEqual(ttls(await capped.ask()), [100]);
    capped.clock.advance(100_000);
    await capped.ask();
    assert.equal(capped.calls.length, 2);
    const raised = setup({ minTtl: 60 });
    raised.respond = answerWith({ answers: [5] });
    await raised.ask();
    raised.clock.advance(59_000);
    assert.deepEqual(ttls(await raised.ask()), [1]);
    assert.equal(raised.calls.length, 1);
  });

  it("gives a cached answer the client's ID, RD, CD, question case and EDNS shape, without per-client options", async () => {
    const t = setup();
    t.respond = answerWith({
      answers: [300],
      options: [
        { code: 10, data: Buffer.alloc(24, 1) },
        { code: 15, data: Buffer.from([0, 3]) },
      ],
    });
    await t.ask('www.example', { id: 1, udpSize: 1232 });
    const withEdns = await t.ask('WwW.eXample', { id: 7, rd: false, udpSize: 4096 });
    assert.equal(withEdns.id, 7);
    assert.equal(withEdns.rd, false);
    assert.equal(withEdns.question?.name, 'WwW.eXample');
    assert.deepEqual(
      withEdns.edns?.options.map((o) => o.code),
      [15],
      'the cookie was for another client; extended errors stay',
    );
    const noEdns = await t.ask('www.example', { id: 8, edns: false });
    assert.equal(noEdns.id, 8);
    assert.equal(noEdns.rd, true);
    assert.equal(noEdns.edns, undefined, 'no OPT for a client that sent none');
    assert.equal(t.calls.length, 1);
    await t.ask('www.example', { id: 9, cd: true });
    assert.equal(t.calls.length, 2, 'CD is part of the key');
    await t.ask('www.example', { id: 10, do: true });
    assert.equal(t.calls.length, 3, 'DO is part of the key');
  });

  it('never serves a clear-text answer when an upstream is Strict; serves it when all are Opportunistic', async () => {
    const strict = setup({}, ['strict', 'opportunistic']);
    strict.respond = answerWith({ answers: [300] }, { transport: 'udp' });
    await strict.ask();
    await strict.ask();
    assert.equal(strict.calls.length, 2);
    assert.equal(strict.cache.stats().entries, 0, 'not even stored');
    strict.respond = answerWith({ answers: [300] }, { authenticated: false });
    await strict.ask();
    await strict.ask();
    assert.equal(strict.calls.length, 4, 'encrypted but unauthenticated is not good enough either');
    const opportunistic = setup({}, ['opportunistic']);
    opportunistic.respond = answerWith({ answers: [300] }, { transport: 'udp' });
    await opportunistic.ask();
    await opportunistic.ask();
    assert.equal(opportunistic.calls.length, 1);
  });

  it('flushes one name or everything, and stores nothing asked for before a flush', async () => {
    const t = setup();
    await t.ask('a.example');
    await t.ask('b.example');
    await t.ask('b.example', { do: true });
    assert.equal(t.cache.flush('B.Example'), 2);
    assert.equal(t.cache.stats().entries, 1);
    const slow = deferred<ResolveResult>();
    t.respond = () => slow.promise;
    const pending = t.ask('c.example');
    assert.equal(t.cache.upstreamsChanged(), 1);
    slow.resolve(
      resultFor(
        t.calls.at(-1)!,
        parseMessage(t.calls.at(-1)!),
        shapedAnswer(t.calls.at(-1)!, { answers: [300] }),
      ),
    );
    await pending;
    assert.equal(t.cache.stats().entries, 0, 'the answer from before the flush was not stored');
  });

  it('stays within a small memory bound, evicting the least recently used answers', async () => {
    const t = setup({ maxBytes: 6000 });
    // Each name twice: when the cache is full of live answers, a name is stored on its second sight.
    for (let i = 0; i < 20; i++) for (let n = 0; n < 2; n++) await t.ask(`n${i}.example`);
    const stats = t.cache.stats();
    assert.ok(stats.bytes <= 6000, `${stats.bytes} bytes`);
    assert.ok(stats.entries >= 3 && stats.entries < 20, `${stats.entries} entries`);
    assert.equal(stats.evictions, 20 - stats.entries);
    const calls = t.calls.length;
    await t.ask('n19.example');
    assert.equal(t.calls.length, calls, 'the newest is still there');
    await t.ask('n0.example');
    assert.equal(t.calls.length, calls + 1, 'the oldest was evicted');
  });

  it('keeps its live answers through a scan of names asked once (admission on second sight)', async () => {
    const t = setup({ maxBytes: 6000, prefetch: false });
    // The first few fill the cache; the rest are refused in turn (they were asked once).
    for (let i = 0; i < 20; i++) await t.ask(`used${i}.example`);
    const { entries: kept, declined } = t.cache.stats();
    assert.ok(kept >= 3 && declined === 20 - kept, `${kept} stored, ${declined} not`);
    const before = t.calls.length;
    for (let i = 0; i < 50; i++) await t.ask(`scan${i}.example`);
    const stats = t.cache.stats();
    assert.equal(stats.declined - declined, 50, 'no name of the scan was stored');
    assert.equal(stats.entries, kept);
    assert.equal(stats.evictions, 0);
    await t.ask('used0.example');
    assert.equal(t.calls.length, before + 50, 'the answers in use are still served from the cache');
    await t.ask('scan7.example');
    await t.ask('scan7.example');
    assert.equal(t.calls.length, before + 51, 'a scanned name asked again is stored, then served');
  });

  it('stores a new name at once when the answer it would push out has expired', async () => {
    const t = setup({ maxBytes: 6000, prefetch: false });
    for (let i = 0; i < 20; i++) await t.ask(`old${i}.example`);
    const { declined } = t.cache.stats();
    t.clock.advance(301_000); // every stored answer (TTL 300) has expired
    await t.ask('new.example');
    await t.ask('new.example');
    assert.equal(t.cache.stats().declined, declined);
    assert.equal(t.calls.filter((q) => q.includes('new')).length, 1, 'stored on its first sight');
  });

  it('coalesces identical questions in flight into one resolution, each client with its own ID', async () => {
    const t = setup();
    const slow = deferred<undefined>();
    t.respond = async (query, msg) => {
      await slow.promise;
      return answerWith({ answers: [300] })(query, msg);
    };
    const pending = Array.from({ length: 20 }, (_, i) => t.ask('same.example', { id: 100 + i }));
    slow.resolve(undefined);
    const answers = await Promise.all(pending);
    assert.equal(t.calls.length, 1);
    assert.deepEqual(
      answers.map((a) => a.id),
      Array.from({ length: 20 }, (_, i) => 100 + i),
    );
    assert.equal(t.cache.stats().coalesced, 19);
  });
});

describe('prefetch', () => {
  it('refreshes a popular entry near expiry once, in the background, while clients are served from cache', async () => {
    const t = setup();
    t.respond = answerWith({ answers: [100] });
    await t.ask();
    await t.ask();
    await t.ask(); // two hits: popular
    t.clock.advance(89_000);
    await t.ask();
    assert.equal(t.calls.length, 1, 'not yet in the last 10 % of the TTL');
    const refresh = deferred<undefined>();
    t.respond = async (query, msg) => {
      await refresh.promise;
      return answerWith({ answers: [100] })(query, msg);
    };
    t.clock.advance(2_000); // 91 s: 9 s left of 100
    const during = await t.ask();
    assert.deepEqual(ttls(during), [9], 'answered from the cache, not waiting for the refresh');
    await t.ask();
    assert.equal(t.calls.length, 2, 'one refresh');
    assert.equal(t.cache.stats().prefetches, 1);
    refresh.resolve(undefined);
    await new Promise((r) => setImmediate(r));
    t.clock.advance(5_000);
    assert.deepEqual(ttls(await t.ask()), [95], 'the refreshed entry');
    assert.equal(t.calls.length, 2);
  });

  it('does not prefetch an entry hit only once, nor when prefetch is off', async () => {
    for (const [config, hits] of [
      [{}, 1],
      [{ prefetch: false }, 5],
    ] as const) {
      const t = setup(config);
      t.respond = answerWith({ answers: [100] });
      await t.ask();
      for (let i = 0; i < hits - 1; i++) await t.ask();
      t.clock.advance(95_000);
      await t.ask();
      assert.equal(t.calls.length, 1);
      assert.equal(t.cache.stats().prefetches, 0);
    }
  });
});

describe('serve-stale (RFC 8767)', () => {
  const cases: {
    what: string;
    config: Partial<CacheConfig>;
    after: number;
    respond: Respond | 'slow';
    rcode: string;
    ttl?: number;
  }[] = [
    {
      what: 'off: expired and every upstream fails -> SERVFAIL',
      config: {},
      after: 301_000,
      respond: localServfail,
      rcode: 'SERVFAIL',
    },
    {
      what: 'on: every upstream fails -> the expired answer, TTL 30',
      config: { serveStale: true },
      after: 301_000,
      respond: localServfail,
      rcode: 'NOERROR',
      ttl: 30,
    },
    {
      what: 'on: the upstream answers SERVFAIL -> the expired answer',
      config: { serveStale: true },
      after: 301_000,
      respond: answerWith({ rcode: 2 }),
      rcode: 'NOERROR',
      ttl: 30,
    },
    {
      what: 'on: older than maxStaleAge -> SERVFAIL',
      config: { serveStale: true, maxStaleAge: 60 },
      after: 361_000,
      respond: localServfail,
      rcode: 'SERVFAIL',
    },
    {
      what: 'on: just within maxStaleAge -> stale',
      config: { serveStale: true, maxStaleAge: 60 },
      after: 359_000,
      respond: localServfail,
      rcode: 'NOERROR',
      ttl: 30,
    },
    {
      what: 'on: the upstream answers -> the fresh answer',
      config: { serveStale: true },
      after: 301_000,
      respond: answerWith({ answers: [200] }),
      rcode: 'NOERROR',
      ttl: 200,
    },
    {
      what: 'on: no answer within the client-response timer (1.8 s) -> stale',
      config: { serveStale: true },
      after: 301_000,
      respond: 'slow',
      rcode: 'NOERROR',
      ttl: 30,
    },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const t = setup(c.config);
      await t.ask();
      t.clock.advance(c.after);
      const slow = deferred<undefined>();
      if (c.respond === 'slow') {
        t.respond = async (query, msg) => {
          await slow.promise;
          return answerWith({ answers: [200] })(query, msg);
        };
      } else t.respond = c.respond;
      const pending = t.ask();
      if (c.respond === 'slow') {
        await new Promise((r) => setImmediate(r));
        t.clock.advance(1_800);
      }
      const answer = await pending;
      assert.equal(answer.rcode, c.rcode);
      if (c.ttl !== undefined) assert.deepEqual(ttls(answer), [c.ttl]);
      assert.equal(t.cache.stats().staleServed, c.ttl === 30 ? 1 : 0);
      if (c.respond !== 'slow') return;
      // RFC 8767 sec. 5: the refresh goes on, and its answer replaces the stale one.
      slow.resolve(undefined);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(ttls(await t.ask()), [200]);
      assert.equal(t.calls.length, 2);
    });
  }

  it('keeps stale data when an upstream SERVFAIL arrives, so the next client still gets it', async () => {
    const t = setup({ serveStale: true });
    await t.ask();
    t.clock.advance(301_000);
    t.respond = answerWith({ rcode: 2 });
    await t.ask();
    const again = await t.ask();
    assert.equal(again.rcode, 'NOERROR');
    assert.equal(t.cache.stats().staleServed, 2);
  });
});
