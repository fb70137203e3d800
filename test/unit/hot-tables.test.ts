// The hot path's memory-conscious structures: the in-flight table of a connection and the string-keyed
// ChurnMap behind the cache (both instead of V8 Maps, see src/util/churn-map.ts), and the cache's EntrySlab.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntrySlab } from '../../src/cache/entry-slab.js';
import { InFlightTable } from '../../src/upstream/in-flight-table.js';
import { parseMessage, type Question } from '../../src/dns/wire.js';
import { buildQuery } from '../helpers/dns-messages.js';
import { ChurnMap, hashOf } from '../../src/util/churn-map.js';

/** A query for `name` as sent, with its parsed question: what the table matches an answer against. */
const sent = (name: string, type = 'A'): { query: Buffer; question: Question | undefined } => {
  const query = buildQuery(name, type);
  return { query, question: parseMessage(query).question };
};
/** An answer's bytes and question (parsed as the connection does: no key made). */
const answerTo = (name: string, type = 'A'): [Buffer, Question | undefined] => {
  const wire = buildQuery(name, type);
  wire[2] = (wire[2] ?? 0) | 0x80;
  return [wire, parseMessage(wire, false).question];
};

describe('InFlightTable', () => {
  /** Adds the query for `name` under a fresh ID; returns the ID. */
  const addQuery = <E>(
    table: InFlightTable<E>,
    entry: E,
    name: string,
    sentAt = 0,
    reused = false,
  ): number => {
    const id = table.allocateId();
    const { query, question } = sent(name);
    table.add(id, entry, query, question, sentAt, reused);
    return id;
  };

  it('matches an answer by ID and question, and never hands out an ID in flight', () => {
    const table = new InFlightTable<{ n: number }>();
    const ids: number[] = [];
    for (let n = 0; n < 3000; n++) {
      const id = addQuery(table, { n }, `q${n}.example`, n);
      assert.ok(!ids.includes(id), `ID ${id} handed out twice while in flight`);
      ids.push(id);
    }
    assert.equal(table.size, 3000);
    const first = ids[0]!;
    assert.equal(table.sentAt(ids[2999]!), 2999, 'each slot keeps its own sent time');
    assert.equal(table.take(first, ...answerTo('q1.example')), undefined, 'the question must match');
    assert.equal(table.take(first, ...answerTo('q0.example', 'AAAA')), undefined, 'the type must match');
    assert.equal(table.size, 3000);
    assert.equal(table.take(first, ...answerTo('Q0.EXAMPLE'))?.n, 0, 'names match case-insensitively');
    assert.equal(table.takenSentAt, 0, 'the sent time of the query just taken');
    assert.equal(table.take(ids[2999]!, ...answerTo('q2999.example'))?.n, 2999);
    assert.equal(table.takenSentAt, 2999, 'each slot keeps its own sent time');
    assert.equal(table.take(first, ...answerTo('q0.example')), undefined, 'taken once');
    assert.ok(Number.isNaN(table.sentAt(first)), 'no sent time once taken');
    assert.equal(table.size, 2998);
  });

  it('matches a name too long for its slot against the query it came in', () => {
    const table = new InFlightTable<{ n: number }>();
    const long = `${'a'.repeat(50)}.${'b'.repeat(40)}.example`;
    const other = `${'a'.repeat(50)}.${'c'.repeat(40)}.example`;
    const id = addQuery(table, { n: 1 }, long);
    const short = addQuery(table, { n: 2 }, 'short.example');
    assert.equal(table.take(id, ...answerTo(other)), undefined, 'a long name must match too');
    assert.equal(table.take(id, ...answerTo(long, 'AAAA')), undefined, 'and its type');
    assert.equal(table.take(id, ...answerTo(long.toUpperCase()))?.n, 1);
    assert.equal(table.take(short, ...answerTo('short.example'))?.n, 2, 'slots with and without a copy mix');
  });

  it('matches names on both sides of the copy limit, each in its own slot', () => {
    const table = new InFlightTable<{ n: number }>();
    // Wire lengths 46 to 50 octets with the final zero (a slot copies up to 48): one label of 42 to 46
    // letters, then `x`.
    const names = [42, 43, 44, 45, 46].map((n) => `${'a'.repeat(n)}.x`);
    const ids = names.map((name, n) => addQuery(table, { n }, name, n));
    for (const [n, name] of names.entries()) {
      const id = ids[n]!;
      const near = `${name.slice(0, -1)}y`;
      assert.equal(
        table.take(id, ...answerTo(near)),
        undefined,
        `${name.length + 2} octets: the last letter counts`,
      );
      assert.equal(table.sentAt(id), n, 'and the slot still holds its own query');
      assert.equal(table.take(id, ...answerTo(name.toUpperCase()))?.n, n);
    }
    assert.equal(table.size, 0);
  });

  it('never lets a name spill into the next slot', () => {
    const table = new InFlightTable<{ n: number }>();
    const first = addQuery(table, { n: 1 }, 'first.example', 1);
    const second = addQuery(table, { n: 2 }, 'second.example', 2);
    assert.equal(table.take(first, ...answerTo('first.example'))?.n, 1);
    // Into the freed first slot, just before the second's record: names of 48 and 50 octets.
    for (const [n, name] of [`${'b'.repeat(44)}.x`, `${'c'.repeat(46)}.x`].entries()) {
      const id = addQuery(table, { n: 10 + n }, name, 3);
      assert.equal(table.sentAt(second), 2, "the next slot's record is untouched");
      assert.equal(table.take(id, ...answerTo(name))?.n, 10 + n);
    }
    assert.equal(table.take(second, ...answerTo('second.example'))?.n, 2);
  });

  it('matches an answer whose question is compressed by the name it points to', () => {
    // QDCOUNT's low octet (1) read as a label length: the name [1, 0x00] then ANCOUNT's low octet (0).
    const header = Buffer.from([0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
    const compressed = Buffer.concat([header, Buffer.from([0xc0, 0x05, 0, 1, 0, 1])]);
    const plainName = Buffer.from([1, 0x00, 0]);
    const query = Buffer.concat([header, plainName, Buffer.from([0, 1, 0, 1])]);
    query[2] = 0x01;
    query[3] = 0x00;
    const table = new InFlightTable<{ n: number }>();
    const question = parseMessage(query).question;
    table.add(7, { n: 7 }, query, question, 0, false);
    const answerQuestion = parseMessage(compressed, false).question;
    assert.equal(answerQuestion?.key, question?.key, 'the same question, spelt with a pointer');
    // Another name under the same ID first: the pointer's name must be compared, not just followed.
    const otherQuery = Buffer.from(query);
    otherQuery[13] = 0x01;
    const other = new InFlightTable<{ n: number }>();
    other.add(7, { n: 8 }, otherQuery, parseMessage(otherQuery).question, 0, false);
    assert.equal(other.take(7, compressed, answerQuestion), undefined, 'a different name must not match');
    assert.equal(table.take(7, compressed, answerQuestion)?.n, 7);
  });

  it('matches by ID alone when the answer has no question, and reuses freed slots', () => {
    const table = new InFlightTable<{ name: string }>();
    const a = addQuery(table, { name: 'a' }, 'a.example');
    assert.equal(table.take(a, Buffer.alloc(12), undefined)?.name, 'a');
    for (let round = 0; round < 1000; round++) {
      const id = addQuery(table, { name: `r${round}` }, `r${round}.example`, round);
      assert.equal(table.sentAt(id), round, 'a reused slot has the new sent time');
      assert.equal(table.remove(id)?.name, `r${round}`);
      assert.equal(table.remove(id), undefined);
    }
    assert.equal(table.size, 0);
  });

  it('removes the entries a predicate picks, and hands each out with its sent time', () => {
    const table = new InFlightTable<{ name: string; aborted: boolean }>();
    const entries = ['a', 'b', 'c', 'd'].map((name, i) => ({ name, aborted: i % 2 === 1 }));
    const ids = entries.map((e, i) => addQuery(table, e, `${e.name}.example`, 100 + i));
    const seen: string[] = [];
    table.removeWhere(
      (e) => e.aborted,
      (e, sentAt) => {
        seen.push(`${e.name}@${sentAt}`);
        // What a visit does (fail the attempt, which may send it again) may add to the table meanwhile.
        addQuery(table, { name: `${e.name}2`, aborted: false }, `${e.name}2.example`);
      },
    );
    assert.deepEqual(seen, ['b@101', 'd@103']);
    assert.equal(table.size, 4);
    assert.equal(table.take(ids[1]!, ...answerTo('b.example')), undefined, 'removed');
    assert.equal(table.take(ids[2]!, ...answerTo('c.example'))?.name, 'c', 'left alone');
  });

  it('drains everything in flight, with whether each was sent on a used connection', () => {
    const table = new InFlightTable<{ name: string }>();
    const names = ['a', 'b', 'c', 'd'];
    const ids = names.map((name, i) => addQuery(table, { name }, `${name}.example`, 0, i >= 2));
    table.remove(ids[1]!);
    assert.deepEqual(
      table
        .drain()
        .map(({ entry, reused }) => `${entry.name}:${String(reused)}`)
        .sort(),
      ['a:false', 'c:true', 'd:true'],
    );
    assert.equal(table.size, 0);
    assert.equal(table.take(ids[0]!, ...answerTo('a.example')), undefined);
  });
});

describe('ChurnMap', () => {
  it('gets, sets, deletes and counts, with any string as a key', () => {
    const map = new ChurnMap<number>();
    const keys = ['__proto__', 'constructor', 'toString', '123', '', 'example.org./1/1'];
    keys.forEach((k, i) => {
      map.set(k, i);
    });
    assert.equal(map.size, keys.length);
    keys.forEach((k, i) => {
      assert.equal(map.get(k), i);
      assert.ok(map.has(k));
    });
    map.set('123', 99);
    assert.equal(map.size, keys.length, 'replacing does not count twice');
    assert.equal(map.get('123'), 99);
    assert.ok(map.delete('__proto__'));
    assert.ok(!map.delete('__proto__'));
    assert.equal(map.get('__proto__'), undefined);
    assert.equal(map.get('hasOwnProperty'), undefined, 'nothing inherited');
    assert.equal(map.size, keys.length - 1);
  });

  it('agrees with a Map through random sets and deletes, while it grows and shrinks', () => {
    const map = new ChurnMap<number>();
    const reference = new Map<string, number>();
    // A fixed-seed LCG: the same sequence every run, many keys sharing probe runs in the small tables.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 20_000; round++) {
      // Phases of growth (mostly sets) and of shrinking (mostly deletes) over a key space of 3000.
      const growing = Math.floor(round / 2500) % 2 === 0;
      const key = `k${next(3000)}.example./1/1`;
      if (next(10) < (growing ? 8 : 2)) {
        map.set(key, round);
        reference.set(key, round);
      } else {
        assert.equal(map.delete(key), reference.delete(key), `delete ${key} in round ${round}`);
      }
      if (round % 997 === 0) {
        assert.equal(map.size, reference.size);
        for (const [k, v] of reference) assert.equal(map.get(k), v, `get ${k} in round ${round}`);
        assert.equal(map.entries().length, reference.size);
      }
    }
    for (const [k, v] of reference) assert.equal(map.get(k), v);
    for (const k of reference.keys()) assert.ok(map.delete(k));
    assert.equal(map.size, 0);
    assert.equal(map.get('k1.example./1/1'), undefined);
  });

  it('keeps keys whose hash is 0 (its empty-slot mark) apart, in colliding probe runs', () => {
    const map = new ChurnMap<string>();
    // 0 is stored as 1, so 'zero' and 'one' share a hash; 16 and 32 share their home slot at any size here.
    const hashes: [string, number][] = [
      ['zero', 0],
      ['one', 1],
      ['sixteen', 16],
      ['thirty-two', 32],
    ];
    for (const [key, hash] of hashes) map.set(key, key, hash);
    for (const [key, hash] of hashes) assert.equal(map.get(key, hash), key);
    assert.equal(map.get('zero', 1), 'zero', 'the hash 0 is the hash 1');
    assert.equal(map.get('absent', 0), undefined);
    assert.ok(map.delete('zero', 0));
    assert.equal(map.get('zero', 0), undefined);
    for (const [key, hash] of hashes.slice(1))
      assert.equal(map.get(key, hash), key, `${key} after the delete`);
    assert.ok(map.deleteIf('one', 'one', 1));
    assert.equal(map.size, 2);
  });

  it('walks a snapshot of its entries that survives deletes, and clears', () => {
    const map = new ChurnMap<string>();
    for (let i = 0; i < 100; i++) map.set(`k${i}`, `v${i}`);
    for (const [key] of map.entries()) if (key.endsWith('7')) map.delete(key);
    assert.equal(map.size, 90);
    assert.equal(map.entries().length, 90);
    assert.ok(map.entries().every(([k, v]) => v === `v${k.slice(1)}`));
    map.clear();
    assert.equal(map.size, 0);
    assert.deepEqual(map.entries(), []);
  });

  it('deletes a key only while it maps to the given value, and takes a hash computed once', () => {
    const map = new ChurnMap<object>();
    const first = {};
    const second = {};
    const hash = hashOf('a.example./1/1');
    map.set('a.example./1/1', first, hash);
    map.set('a.example./1/1', second);
    assert.equal(map.deleteIf('a.example./1/1', first, hash), false, 'replaced: the newer value stays');
    assert.equal(map.get('a.example./1/1', hash), second);
    assert.equal(map.deleteIf('a.example./1/1', second), true);
    assert.equal(map.get('a.example./1/1'), undefined);
    assert.equal(map.deleteIf('a.example./1/1', second), false, 'gone: nothing to delete');
    assert.equal(map.size, 0);
  });
});

describe('EntrySlab', () => {
  it('copies answers into slabs shared only with other cached answers, large ones into their own', () => {
    const slab = new EntrySlab();
    const copy = (bytes: Buffer): Buffer => {
      const at = slab.store(bytes);
      return slab.last.subarray(at, at + bytes.length);
    };
    const source = Buffer.from('a cached answer');
    const a = copy(source);
    const b = copy(Buffer.from('another one'));
    source.fill(0);
    assert.equal(a.toString(), 'a cached answer', 'a copy, not a view of the source');
    assert.equal(b.toString(), 'another one');
    assert.equal(a.buffer, b.buffer, 'small answers share a slab');
    const big = copy(Buffer.alloc(2000, 7));
    assert.notEqual(big.buffer, a.buffer);
    assert.equal(big.length, 2000);
    assert.equal(big.byteOffset - slab.last.byteOffset, 0, 'a large answer starts its own buffer');
    assert.ok(big.every((x) => x === 7));
    // A slab that cannot take the next answer is left for a new one; nothing overlaps.
    const many = Array.from({ length: 40 }, (_, i) => copy(Buffer.alloc(500, i)));
    many.forEach((m, i) => {
      assert.ok(
        m.every((x) => x === i),
        `copy ${i} intact`,
      );
    });
    assert.ok(new Set(many.map((m) => m.buffer)).size > 1, 'more than one slab');
    assert.equal(a.toString(), 'a cached answer', 'earlier copies untouched by later ones');
  });
});
