/** Which upstreams a query tries, in what order, and when that list is shared between queries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usableInOrder } from '../../src/resolver/candidates.js';
import type { Entry } from '../../src/resolver/attempt.js';
import { UpstreamHealth } from '../../src/resolver/upstream-health.js';
import { ConnectError } from '../../src/errors.js';
import type { Upstream } from '../../src/upstream/upstream.js';
import type { PrivacyLevel } from '../../src/upstream/usage-profile.js';

const entry = (id: string, privacy: PrivacyLevel = 'authenticated'): Entry => ({
  upstream: { id, privacy } as unknown as Upstream,
  health: new UpstreamHealth(),
});
const ids = (list: readonly Entry[]): string[] => list.map((e) => e.upstream.id);

describe('usableInOrder', () => {
  it('rotates from the start index, sharing one list per rotation when every entry is usable', () => {
    const entries = [entry('a'), entry('b'), entry('c')];
    const first = usableInOrder(entries, 1, 0, true);
    assert.deepEqual(ids(first), ['b', 'c', 'a']);
    assert.equal(usableInOrder(entries, 1, 0, true), first, 'the same rotation is the same list');
    assert.deepEqual(ids(usableInOrder(entries, 2, 0, true)), ['c', 'a', 'b']);
    const own = usableInOrder(entries, 1, 0, false);
    assert.deepEqual(ids(own), ['b', 'c', 'a']);
    assert.notEqual(own, first, 'not shareable: a list of its own');
  });

  it('leaves out an upstream backing off, in a list of the query’s own', () => {
    const entries = [entry('a'), entry('b'), entry('c')];
    entries[1]?.health.failed(new ConnectError('b', new Error('refused')), 0);
    const list = usableInOrder(entries, 0, 10, true);
    assert.deepEqual(ids(list), ['a', 'c']);
    assert.notEqual(usableInOrder(entries, 0, 10, true), list, 'not shared');
  });

  it('puts the most private first when the levels differ (RFC 8310 sec. 5), the rotation kept among equals', () => {
    const entries = [entry('clear1', 'clear'), entry('tls1'), entry('clear2', 'clear'), entry('tls2')];
    assert.deepEqual(ids(usableInOrder(entries, 1, 0, true)), ['tls1', 'tls2', 'clear2', 'clear1']);
    assert.deepEqual(ids(usableInOrder(entries, 2, 0, true)), ['tls2', 'tls1', 'clear2', 'clear1']);
  });
});
