// The resolver's reload bookkeeping (src/resolver/generations.ts): drained() waits for exactly the queries
// that started before the last configuration change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Generations } from '../../src/resolver/generations.js';

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('Generations', () => {
  it('is drained at once when nothing started before the change', async () => {
    const g = new Generations();
    g.started();
    g.advance();
    const a = g.started();
    g.finished(0);
    assert.equal(await settled(g.drained()), true);
    assert.equal(a, 1, 'a query after the change belongs to the new configuration');
  });

  it('waits for every older query, whatever the newer ones do', async () => {
    const g = new Generations();
    const first = g.started();
    const second = g.started();
    g.advance();
    const newer = g.started();
    const drained = g.drained();
    g.finished(first);
    g.finished(newer);
    assert.equal(await settled(drained), false, 'one older query still in progress');
    g.finished(second);
    assert.equal(await settled(drained), true);
  });

  it('counts queries of several earlier configurations together', async () => {
    const g = new Generations();
    const a = g.started();
    g.advance();
    const b = g.started();
    g.advance();
    const drained = g.drained();
    g.finished(b);
    assert.equal(await settled(drained), false);
    g.finished(a);
    assert.equal(await settled(drained), true);
  });
});
