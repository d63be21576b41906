import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../src/client/clock.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import { makePod } from './builders.js';

/** A clock tests move by hand; timers fire when it passes their time. */
class FakeClock implements Clock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
  }
}

const prio = (name: string, priority: number): Pod => makePod(name, { spec: { priority } });

test('the active queue orders by priority, then by arrival', () => {
  const q = new SchedulingQueue({ clock: new FakeClock() });
  q.add(makePod('first'));
  q.add(prio('urgent', 1000));
  q.add(makePod('second'));
  assert.deepEqual([q.pop()?.key, q.pop()?.key, q.pop()?.key, q.pop()], ['default/urgent', 'default/first', 'default/second', undefined]);
});

test('unschedulable pods wait for an event; moved pods still in backoff wait it out (1 s doubling to 10 s)', () => {
  const clock = new FakeClock();
  const q = new SchedulingQueue({ clock });
  q.add(makePod('p'));
  let qp = q.pop()!;
  q.addUnschedulable(qp, new Set(['NodeResourcesFit']));
  assert.equal(q.whereIs('default/p'), 'unschedulable');
  // an event for another plugin does not move it
  q.moveAllToActiveOrBackoff(['InterPodAffinity']);
  assert.equal(q.whereIs('default/p'), 'unschedulable');
  q.moveAllToActiveOrBackoff(['NodeResourcesFit']);
  assert.equal(q.whereIs('default/p'), 'backoff', 'first backoff is 1 s');
  clock.advance(999);
  assert.equal(q.pop(), undefined);
  clock.advance(1);
  qp = q.pop()!;
  assert.equal(qp.attempts, 2);
  assert.equal(q.backoffDuration(qp), 2000);
  q.addUnschedulable(qp, new Set());
  clock.advance(2000);
  q.moveAllToActiveOrBackoff(['Anything']);
  assert.equal(q.whereIs('default/p'), 'active', 'a pod with no recorded plugin moves on any event; its backoff is over');
  for (let i = 0; i < 10; i++) qp.attempts++;
  assert.equal(q.backoffDuration(qp), 10_000);
});

test('an event while a pod is in flight sends a failure to backoff instead of waiting', () => {
  const clock = new FakeClock();
  const q = new SchedulingQueue({ clock });
  q.add(makePod('p'));
  const qp = q.pop()!;
  q.moveAllToActiveOrBackoff();
  q.addUnschedulable(qp, new Set(['NodeResourcesFit']));
  assert.equal(q.whereIs('default/p'), 'backoff');
  clock.advance(1000);
  assert.equal(q.pop()?.key, 'default/p');
});

test('updates: a spec change moves an unschedulable pod, a status-only change does not; gated pods wait for their gates', () => {
  const clock = new FakeClock();
  const q = new SchedulingQueue({ clock });
  const p = makePod('p');
  q.add(p);
  q.addUnschedulable(q.pop()!, new Set(['NodeAffinity']));
  q.update({ ...p, status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } });
  assert.equal(q.whereIs('default/p'), 'unschedulable');
  clock.advance(5000);
  q.update({ ...p, metadata: { ...p.metadata, labels: { new: 'label' } } });
  assert.equal(q.whereIs('default/p'), 'active');

  const gated = makePod('g', { spec: { schedulingGates: [{ name: 'wait' }] } });
  q.add(gated);
  assert.equal(q.whereIs('default/g'), 'gated');
  q.update({ ...gated, spec: { ...gated.spec!, schedulingGates: [] } });
  assert.equal(q.whereIs('default/g'), 'active');
  q.delete(gated);
  assert.equal(q.whereIs('default/g'), undefined);
});

test('unschedulable pods get another try after five minutes without events', () => {
  const clock = new FakeClock();
  const q = new SchedulingQueue({ clock });
  q.add(makePod('p'));
  q.addUnschedulable(q.pop()!, new Set(['NodeResourcesFit']));
  clock.advance(4 * 60_000);
  assert.equal(q.whereIs('default/p'), 'unschedulable');
  clock.advance(61_000);
  assert.equal(q.whereIs('default/p'), 'active');
  q.close();
});

test('waitForPod resolves when a pod arrives', async () => {
  const q = new SchedulingQueue({ clock: new FakeClock() });
  let woke = false;
  const w = q.waitForPod().then(() => (woke = true));
  await Promise.resolve();
  assert.equal(woke, false);
  q.add(makePod('p'));
  await w;
  assert.equal(woke, true);
});
