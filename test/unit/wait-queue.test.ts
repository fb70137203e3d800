import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WaitQueue, type Waiter } from '../../src/util/wait-queue.js';
import { seededRandom } from '../helpers/mutate.js';

describe('WaitQueue', () => {
  it('wakes the oldest still waiting, skips cancelled ones, and counts what waits', () => {
    const q = new WaitQueue();
    const woken: number[] = [];
    const w = [0, 1, 2, 3].map((i) => q.add(() => woken.push(i)));
    q.cancel(w[0]!);
    q.cancel(w[2]!);
    assert.equal(q.size, 2);
    q.wakeOldest();
    q.cancel(w[1]!); // already woken: nothing changes
    assert.equal(q.size, 1);
    q.wakeOldest();
    q.wakeOldest(); // empty: nothing happens
    assert.deepEqual(woken, [1, 3]);
    assert.equal(q.size, 0);
  });

  it('matches a FIFO model through 30,000 random adds, cancels and wakes (compaction included)', () => {
    const rand = seededRandom(0x5107);
    const q = new WaitQueue();
    const model: number[] = [];
    const waiters = new Map<number, Waiter>();
    const woken: number[] = [];
    const expected: number[] = [];
    let next = 0;
    for (let op = 0; op < 30_000; op++) {
      const r = rand(10);
      if (r < 5) {
        const id = next++;
        waiters.set(
          id,
          q.add(() => woken.push(id)),
        );
        model.push(id);
      } else if (r < 7 && model.length > 0) {
        const at = rand(model.length);
        const [id] = model.splice(at, 1);
        q.cancel(waiters.get(id!)!);
      } else {
        const id = model.shift();
        if (id !== undefined) expected.push(id);
        q.wakeOldest();
      }
      assert.equal(q.size, model.length);
    }
    assert.deepEqual(woken, expected);
  });
});
