// RFC 2308 / RFC 2181 TTL policy, table-driven, and the LRU store's bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryKey } from '../../src/cache/cache-key.js';
import { Doorkeeper } from '../../src/cache/doorkeeper.js';
import { LruStore } from '../../src/cache/lru-store.js';
import { cachePlan } from '../../src/cache/ttl-policy.js';
import { recordTtls } from '../../src/dns/record-ttls.js';
import { parseMessage } from '../../src/dns/wire.js';
import { shapedAnswer, type Shape } from '../helpers/cache-answers.js';
import { buildQuery } from '../helpers/dns-messages.js';

const LIMITS = { maxTtl: 86_400, minTtl: 0, servfailTtl: 5 };

function plan(shape: Shape, limits = LIMITS, truncated = false) {
  const answer = shapedAnswer(buildQuery('x.example', 'A', { id: 1 }), shape);
  if (truncated) answer[2] = answer[2]! | 0x02;
  return cachePlan(answer, recordTtls(answer, parseMessage(answer)), 0, limits);
}

describe('cache TTL policy (RFC 2308, RFC 2181 sec. 8)', () => {
  const cases: { what: string; shape: Shape; kind?: string; lifetime?: number }[] = [
    { what: 'positive: the smallest TTL', shape: { answers: [300, 120] }, kind: 'positive', lifetime: 120 },
    {
      what: 'NXDOMAIN with SOA: SOA MINIMUM below its TTL',
      shape: { rcode: 3, soa: { ttl: 3600, minimum: 300 } },
      kind: 'negative',
      lifetime: 300,
    },
    {
      what: 'NXDOMAIN with SOA: SOA TTL below MINIMUM',
      shape: { rcode: 3, soa: { ttl: 60, minimum: 900 } },
      kind: 'negative',
      lifetime: 60,
    },
    {
      what: 'NODATA with SOA',
      shape: { rcode: 0, soa: { ttl: 900, minimum: 180 } },
      kind: 'negative',
      lifetime: 180,
    },
    { what: 'NXDOMAIN without SOA: not cached', shape: { rcode: 3 } },
    { what: 'NODATA without SOA: not cached', shape: { rcode: 0 } },
    { what: 'SERVFAIL: a few seconds', shape: { rcode: 2 }, kind: 'servfail', lifetime: 5 },
    { what: 'REFUSED: not cached', shape: { rcode: 5 } },
    { what: 'FORMERR: not cached', shape: { rcode: 1 } },
    { what: 'TTL 0: not cached', shape: { answers: [0] } },
    { what: 'TTL with the top bit set counts as 0 (RFC 2181 sec. 8)', shape: { answers: [0x80000000, 300] } },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const p = plan(c.shape);
      if (c.kind === undefined) assert.equal(p, undefined);
      else {
        assert.equal(p?.kind, c.kind);
        assert.equal(p.lifetime, c.lifetime);
      }
    });
  }

  it('gives the SOA of a negative answer min(TTL, MINIMUM) as its own TTL', () => {
    assert.deepEqual(plan({ rcode: 3, soa: { ttl: 3600, minimum: 300 } })?.ttls, [300]);
  });

  it('caps at maxTtl and raises to minTtl, per record and for the entry', () => {
    const capped = plan({ answers: [200_000, 100_000] }, { ...LIMITS, maxTtl: 86_400 });
    assert.equal(capped?.lifetime, 86_400);
    assert.deepEqual(capped.ttls, [86_400, 86_400]);
    const raised = plan({ answers: [10, 600] }, { ...LIMITS, minTtl: 60 });
    assert.equal(raised?.lifetime, 60);
    assert.deepEqual(raised.ttls, [60, 600]);
  });

  it('never caches a truncated answer or an extended RCODE', () => {
    assert.equal(plan({ answers: [300] }, LIMITS, true), undefined);
    const answer = shapedAnswer(buildQuery('x.example', 'A', { id: 1 }), { answers: [300] });
    assert.equal(cachePlan(answer, recordTtls(answer, parseMessage(answer)), 1, LIMITS), undefined);
  });
});

describe('LRU store', () => {
  const item = (bytes: number) => ({ bytes });

  it('evicts the least recently used entry when the byte bound is passed', () => {
    const lru = new LruStore<{ bytes: number }>(100, 1000);
    lru.set('a', item(400));
    lru.set('b', item(400));
    assert.notEqual(lru.get('a'), undefined); // a is now the most recent
    lru.set('c', item(400));
    assert.equal(lru.peek('b'), undefined, 'b was least recently used');
    assert.notEqual(lru.peek('a'), undefined);
    assert.notEqual(lru.peek('c'), undefined);
    assert.equal(lru.bytes, 800);
    assert.equal(lru.evictions, 1);
  });

  it('keeps a hit entry from the older half, so a scan of new names evicts the others first', () => {
    const lru = new LruStore<{ bytes: number }>(4, 10_000);
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, item(1));
    lru.get('a'); // oldest: moved to the newest end
    lru.set('e', item(1));
    lru.set('f', item(1));
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => lru.peek(k) !== undefined),
      [true, false, false, true, true, true],
    );
  });

  it('holds at most maxEntries, and refuses an entry bigger than the whole bound', () => {
    const lru = new LruStore<{ bytes: number }>(3, 10_000);
    for (let i = 0; i < 10; i++) lru.set(`k${i}`, item(10));
    assert.equal(lru.size, 3);
    assert.equal(lru.evictions, 7);
    assert.deepEqual(
      ['k7', 'k8', 'k9'].map((k) => lru.peek(k) !== undefined),
      [true, true, true],
    );
    assert.equal(lru.set('huge', item(20_000)), false);
    assert.equal(lru.size, 3);
  });

  it('replaces an entry in place without counting it twice', () => {
    const lru = new LruStore<{ bytes: number }>(10, 1000);
    lru.set('a', item(100));
    lru.set('a', item(300));
    assert.equal(lru.bytes, 300);
    assert.equal(lru.size, 1);
    assert.equal(
      lru.deleteWhere((v) => v.bytes === 300),
      1,
    );
    assert.equal(lru.bytes, 0);
  });
});

describe('doorkeeper (admission filter)', () => {
  it('says a key is new once, then seen; forgets everything after taking its capacity', () => {
    const d = new Doorkeeper(1000);
    assert.equal(d.seenOrAdd('a.example./1/1'), false);
    assert.equal(d.seenOrAdd('a.example./1/1'), true);
    assert.equal(d.seenOrAdd('a.example./28/1'), false, 'another type is another key');
    for (let i = 0; i < 998; i++) d.seenOrAdd(`filler${i}.example./1/1`);
    assert.equal(d.seenOrAdd('a.example./1/1'), false, 'emptied after 1000 new keys');
  });

  it('mistakes few new keys for seen ones at its default capacity', () => {
    const d = new Doorkeeper();
    for (let i = 0; i < 99_000; i++) d.seenOrAdd(`q${i}-max.h${i % 3000}.bench.test./1/1`);
    let wrong = 0;
    for (let i = 0; i < 1000; i++) if (d.seenOrAdd(`other${i}.example./1/1`)) wrong++;
    assert.ok(wrong < 30, `${wrong} of 1000 unseen keys were taken for seen ones`);
  });
});

describe('what the cache never answers (cache-key.ts)', () => {
  const keyOf = (type: number): string | undefined => {
    const query = buildQuery('X.example', type, { id: 1 });
    return queryKey(query, parseMessage(query));
  };

  it('zone transfers and MAILB/MAILA (251-254) have no key; their neighbours do', () => {
    for (const type of [251, 252, 253, 254]) assert.equal(keyOf(type), undefined, `type ${type}`);
    assert.equal(keyOf(250), 'x.example./250/1');
    assert.equal(keyOf(255), 'x.example./255/1');
    assert.equal(keyOf(1), 'x.example./1/1');
  });
});
