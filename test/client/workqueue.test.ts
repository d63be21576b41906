import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  runWorkers,
  WorkQueue,
} from '../../src/client/workqueue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function next(q: WorkQueue): Promise<string> {
  const item = await q.get();
  assert.equal(item.shutdown, false);
  return item.key!;
}

describe('WorkQueue', () => {
  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await next(q), 'a');
    assert.equal(await next(q), 'b');
    assert.equal(q.len(), 0);
    q.shutDown();
  });

  it('holds a key added while it is processed until done(), then queues it once', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await next(q);
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not handed out again while in flight');
    q.done(key);
    assert.equal(q.len(), 1);
    assert.equal(await next(q), 'a');
    q.done('a');
    assert.equal(q.len(), 0);
    q.shutDown();
  });

  it('hands a key to a waiting get()', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    assert.deepEqual(await waiting, { key: 'x', shutdown: false });
    q.shutDown();
  });

  it('never gives one key to two workers at once', async () => {
    const q = new WorkQueue();
    const inFlight = new Map<string, number>();
    let maxPerKey = 0;
    let maxTotal = 0;
    let total = 0;
    let processed = 0;
    const keys = ['a', 'b', 'c'];
    const workers = runWorkers(q, 4, async (key) => {
      const n = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, n);
      total++;
      maxPerKey = Math.max(maxPerKey, n);
      maxTotal = Math.max(maxTotal, total);
      // re-adding the key mid-flight must not start a second sync of it
      q.add(key);
      await sleep(2);
      inFlight.set(key, n - 1);
      total--;
      processed++;
      if (processed > 40) q.shutDown();
    });
    for (const k of keys) q.add(k);
    await workers;
    assert.equal(maxPerKey, 1);
    assert.ok(maxTotal > 1, 'different keys were processed in parallel');
    assert.ok(processed > 40);
  });

  it('retries a failing key with growing delays and forgets it after success', async () => {
    const q = new WorkQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(20, 10_000) });
    const times: number[] = [];
    const start = Date.now();
    const done = runWorkers(q, 1, async () => {
      times.push(Date.now() - start);
      if (times.length < 4) throw new Error('not yet');
      q.shutDown();
    });
    q.add('k');
    await done;
    assert.equal(times.length, 4);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // 20, 40, 80 ms (timers may fire a little late, never early)
    assert.ok(gaps[0] >= 19 && gaps[1] >= 39 && gaps[2] >= 79, `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[2] > gaps[0]);
    assert.equal(q.numRequeues('k'), 0, 'success forgot the failures');
  });

  it('requeues after the delay a sync returns', async () => {
    const q = new WorkQueue();
    const seen: number[] = [];
    const start = Date.now();
    const done = runWorkers(q, 1, async () => {
      seen.push(Date.now() - start);
      if (seen.length === 2) {
        q.shutDown();
        return;
      }
      return 50;
    });
    q.add('k');
    await done;
    assert.equal(seen.length, 2);
    assert.ok(seen[1] - seen[0] >= 49);
  });

  it('addAfter keeps the earliest time for a key', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 10_000);
    q.addAfter('a', 20);
    q.addAfter('a', 5_000);
    assert.equal(q.len(), 0);
    assert.equal(q.pending(), 1);
    const t0 = Date.now();
    assert.equal(await next(q), 'a');
    assert.ok(Date.now() - t0 < 1000);
    q.shutDown();
  });

  it('shutDown wakes waiting workers and drops queued and delayed keys', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.deepEqual(await waiting, { key: undefined, shutdown: true });
    q.add('a');
    q.addAfter('b', 1);
    assert.equal(q.pending(), 0);
    assert.equal((await q.get()).shutdown, true);
  });
});

describe('rate limiters', () => {
  it('ItemExponentialFailureRateLimiter doubles from 5 ms up to 1000 s per key', () => {
    const l = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    assert.deepEqual([l.when('a'), l.when('a'), l.when('a'), l.when('a')], [5, 10, 20, 40]);
    assert.equal(l.when('b'), 5, 'keys back off independently');
    for (let i = 0; i < 40; i++) l.when('a');
    assert.equal(l.when('a'), 1_000_000);
    assert.equal(l.numRequeues('a'), 45);
    l.forget('a');
    assert.equal(l.when('a'), 5);
  });

  it('BucketRateLimiter allows a burst, then spaces retries at qps', () => {
    let now = 0;
    const b = new BucketRateLimiter(10, 3, () => now);
    assert.deepEqual([b.when(), b.when(), b.when()], [0, 0, 0]);
    assert.equal(b.when(), 100);
    assert.equal(b.when(), 200);
    now = 1000;
    assert.equal(b.when(), 0, 'tokens refilled');
  });

  it('the default controller limiter takes the larger delay', () => {
    const l = defaultControllerRateLimiter();
    assert.equal(l.when('a'), 5);
    assert.equal(l.when('a'), 10);
    const m = new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(1, 100), new ItemExponentialFailureRateLimiter(7, 100));
    assert.equal(m.when('x'), 7);
    assert.equal(m.numRequeues('x'), 1);
  });
});
