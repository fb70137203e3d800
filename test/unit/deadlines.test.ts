// Shared query deadlines (src/util/deadline.ts): one timer per budget, expiry in order, O(1) removal, and
// no timer left armed once the last deadline has passed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deadlines, type DeadlineList, type Expiring } from '../../src/util/deadline.js';
import { ManualClock } from '../helpers/manual-clock.js';

class Item implements Expiring {
  expiresAt = 0;
  older: Expiring | undefined = undefined;
  newer: Expiring | undefined = undefined;
  list: DeadlineList | undefined = undefined;

  constructor(
    readonly name: string,
    readonly log: string[],
  ) {}
  expire(): void {
    this.log.push(this.name);
  }
}

describe('deadlines', () => {
  it('expires each item at its own deadline, in order, with one timer per budget', () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const log: string[] = [];
    deadlines.add(new Item('a', log), 1000);
    clock.advance(300);
    deadlines.add(new Item('b', log), 1000);
    deadlines.add(new Item('short', log), 500);
    assert.equal(clock.pending, 2, 'one timer for the 1000 ms list, one for the 500 ms list');
    clock.advance(499);
    assert.deepEqual(log, []);
    clock.advance(1);
    assert.deepEqual(log, ['short'], 'the 500 ms budget added at 300 ms ends at 800 ms');
    clock.advance(199);
    assert.deepEqual(log, ['short']);
    clock.advance(1);
    assert.deepEqual(log, ['short', 'a']);
    clock.advance(299);
    assert.deepEqual(log, ['short', 'a']);
    clock.advance(1);
    assert.deepEqual(log, ['short', 'a', 'b']);
    assert.equal(clock.pending, 0, 'nothing waits, so no timer is armed');
  });

  it('never expires a removed item, and is disarmed once an emptied list has fired its timer', () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const log: string[] = [];
    const first = new Item('first', log);
    const middle = new Item('middle', log);
    deadlines.add(first, 1000);
    deadlines.add(middle, 1000);
    deadlines.add(new Item('last', log), 1000);
    deadlines.remove(middle);
    deadlines.remove(first);
    deadlines.remove(first); // twice is harmless
    clock.advance(1000);
    assert.deepEqual(log, ['last']);
    const alone = new Item('alone', log);
    deadlines.add(alone, 50);
    deadlines.remove(alone);
    assert.equal(clock.pending, 1, 'the emptied list keeps its timer until the old deadline');
    clock.advance(50);
    assert.equal(clock.pending, 0, 'it fired, found nothing, and stays off');
    clock.advance(100);
    assert.deepEqual(log, ['last']);
  });

  it('expires an item added while an emptied list is still armed at its own deadline, not before', () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const log: string[] = [];
    const answered = new Item('answered', log);
    deadlines.add(answered, 100);
    clock.advance(40);
    deadlines.remove(answered); // the timer stays armed for t=100
    deadlines.add(new Item('next', log), 100); // due at t=140
    clock.advance(60);
    assert.deepEqual(log, [], 'the timer fired at t=100 for the answered query: nothing expired');
    assert.equal(clock.pending, 1, 're-armed for the new head');
    clock.advance(39);
    assert.deepEqual(log, []);
    clock.advance(1);
    assert.deepEqual(log, ['next']);
    assert.equal(clock.pending, 0);
  });

  it('lets an expiring item start another wait on the same list', () => {
    const clock = new ManualClock();
    const deadlines = new Deadlines(clock);
    const log: string[] = [];
    class Chain extends Item {
      override expire(): void {
        super.expire();
        if (this.log.length < 3) deadlines.add(new Chain(`next${this.log.length}`, this.log), 100);
      }
    }
    deadlines.add(new Chain('start', log), 100);
    clock.advance(100);
    clock.advance(100);
    clock.advance(100);
    assert.deepEqual(log, ['start', 'next1', 'next2']);
    assert.equal(clock.pending, 0);
  });
});
