import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactionSchedule } from '../../src/storage/retention.js';

function schedule(historyRevisions: number, historySeconds: number, clock: { now: number }, currentRev = 0) {
  return new CompactionSchedule(
    { historyRevisions, historySeconds },
    currentRev,
    async () => undefined,
    () => false,
    () => clock.now,
  );
}

describe('CompactionSchedule.target', () => {
  it('keeps the last historyRevisions revisions when time does not hold more', () => {
    const clock = { now: 1_000_000 };
    assert.equal(schedule(10, 0, clock).target(50), 40);
    assert.equal(schedule(100, 0, clock).target(50), 0);
  });

  it('keeps every revision written within historySeconds', () => {
    const clock = { now: 0 };
    const s = schedule(10, 60, clock, 5);
    clock.now = 10_000;
    assert.equal(s.target(100), 0, 'nothing is a minute old yet');
    clock.now = 61_000;
    assert.equal(s.target(200), 5, 'only what existed at open is a minute old');
    clock.now = 71_000;
    assert.equal(s.target(300), 100, 'what was written by 10 s');
    clock.now = 200_000;
    assert.equal(s.target(300), 290, 'then the revision count decides');
  });
});
