import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fifo } from '../../src/client/fifo.js';
import { Limiter } from '../../src/node/simulated/index.js';

describe('simulated nodes: the write limiter', () => {
  it('runs at most max jobs at once, in the order they came, and drains', async () => {
    const l = new Limiter(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const jobs = Array.from({ length: 20 }, (_, i) =>
      l.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 1));
        running--;
        return i * 2;
      }),
    );
    assert.equal(l.pending, 20);
    assert.deepEqual(await Promise.all(jobs), Array.from({ length: 20 }, (_, i) => i * 2));
    await l.drained();
    assert.equal(peak, 3);
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(l.pending, 0);
  });

  it('its queue stays cheap at tens of thousands while jobs keep joining (Array.shift made this quadratic)', () => {
    const q = new Fifo<number>();
    const t0 = performance.now();
    let next = 0;
    let expect = 0;
    for (; next < 100_000; next++) q.push(next);
    // a heartbeat slice queues a write per node while pod writes keep arriving and others finish
    for (let k = 0; k < 300_000; k++) {
      if (k % 3 === 0) q.push(next++);
      const v = q.shift();
      if (v === undefined) break;
      assert.equal(v, expect++);
    }
    while (q.length) assert.equal(q.shift(), expect++);
    assert.equal(expect, next);
    assert.equal(q.shift(), undefined);
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${next} items through the queue took ${Math.round(ms)} ms`);
  });
});
