import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoreEvent } from '../../src/storage/store.js';
import { EventWindow, WatchHub, resourceOf } from '../../src/storage/watchhub.js';

const ev = (rev: number, key = `/core/pods/ns/p${rev}`): StoreEvent => ({ type: 'ADDED', key, rev, value: '{}' });
const noHistory = (): StoreEvent[] => assert.fail('history should not be read');

describe('resourceOf', () => {
  it('takes the first two segments, or nothing when there are fewer', () => {
    assert.equal(resourceOf('/core/pods/ns/name'), '/core/pods/');
    assert.equal(resourceOf('/core/nodes/n1'), '/core/nodes/');
    assert.equal(resourceOf('/apps/deployments/'), '/apps/deployments/');
    assert.equal(resourceOf('/apps/deployments'), undefined);
    assert.equal(resourceOf('/core/'), undefined);
    assert.equal(resourceOf('/'), undefined);
    assert.equal(resourceOf(''), undefined);
  });
});

describe('EventWindow', () => {
  it('keeps the last events and knows from which revision it can replay', () => {
    const w = new EventWindow(3, 0);
    assert.equal(w.covers(0), true);
    for (let rev = 1; rev <= 5; rev++) w.push(ev(rev));
    assert.equal(w.covers(1), false);
    assert.equal(w.covers(2), true);
    assert.deepEqual(
      w.eventsAfter(2, '').map((e) => e.rev),
      [3, 4, 5],
    );
    assert.deepEqual(
      w.eventsAfter(4, '/core/pods/').map((e) => e.rev),
      [5],
    );
    assert.deepEqual(w.eventsAfter(3, '/core/services/'), []);
  });

  it('with no room only covers the newest revision', () => {
    const w = new EventWindow(0, 7);
    w.push(ev(8));
    assert.equal(w.covers(7), false);
    assert.equal(w.covers(8), true);
    assert.deepEqual(w.eventsAfter(8, ''), []);
  });
});

describe('WatchHub', () => {
  it('forgets stopped watchers, so stopped watches cost nothing', () => {
    const hub = new WatchHub(16, 0);
    let calls = 0;
    const watchers = Array.from({ length: 1000 }, (_, i) =>
      hub.watch(`/core/pods/ns${i}/`, 0, () => calls++, noHistory),
    );
    const broad = hub.watch('/', 0, () => calls++, noHistory);
    assert.equal(hub.watchers, 1001);
    for (const w of watchers) w.stop();
    broad.stop();
    assert.equal(hub.watchers, 0);
    hub.publish(ev(1, '/core/pods/ns1/a'));
    assert.equal(calls, 0);
  });

  it('reads history only when the window does not reach back far enough', () => {
    const hub = new WatchHub(2, 0);
    for (let rev = 1; rev <= 4; rev++) hub.publish(ev(rev));
    const seen: number[] = [];
    hub.watch('/core/pods/', 2, (e) => seen.push(e.rev), noHistory);
    assert.deepEqual(seen, [3, 4]);
    let asked: number | undefined;
    const old: number[] = [];
    hub.watch('/core/pods/', 1, (e) => old.push(e.rev), (afterRev) => {
      asked = afterRev;
      return [ev(2), ev(3), ev(4)];
    });
    assert.equal(asked, 1);
    assert.deepEqual(old, [2, 3, 4]);
    hub.publish(ev(5));
    assert.deepEqual(seen, [3, 4, 5]);
    assert.deepEqual(old, [2, 3, 4, 5]);
  });

  it('clear stops every watcher', () => {
    const hub = new WatchHub(4, 0);
    let calls = 0;
    hub.watch('/core/pods/', 0, () => calls++, noHistory);
    hub.watch('', 0, () => calls++, noHistory);
    hub.clear();
    hub.publish(ev(1));
    assert.equal(calls, 0);
    assert.equal(hub.watchers, 0);
  });
});
