// Every delayed action of every simulated node on one timer: a min-heap of due times, one pending
// setTimeout for the earliest. Thousands of nodes cost one timer, not thousands.

import type { Clock } from '../../client/clock.js';

interface Item {
  due: number;
  order: number;
  key: string;
  token: number;
}

export class Timeline {
  private readonly heap: Item[] = [];
  /** the current token per key: an item whose token is older was replaced or cancelled */
  private readonly tokens = new Map<string, number>();
  private next = 0;
  private order = 0;
  private timer?: { handle: unknown; due: number };
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (key: string) => void,
  ) {}

  /** Runs fire(key) at `due` (replacing what was scheduled for key). */
  schedule(key: string, due: number): void {
    if (this.stopped) return;
    const token = ++this.next;
    this.tokens.set(key, token);
    this.push({ due, order: ++this.order, key, token });
    this.arm();
  }

  cancel(key: string): void {
    this.tokens.delete(key);
  }

  has(key: string): boolean {
    return this.tokens.has(key);
  }

  get size(): number {
    return this.tokens.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.heap.length = 0;
    this.tokens.clear();
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || this.stopped) return;
    if (this.timer && this.timer.due <= top.due) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    const due = top.due;
    const handle = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, Math.max(0, due - this.clock.now()));
    this.timer = { handle, due };
  }

  private run(): void {
    const now = this.clock.now();
    while (this.heap.length && this.heap[0].due <= now && !this.stopped) {
      const item = this.pop()!;
      if (this.tokens.get(item.key) !== item.token) continue;
      this.tokens.delete(item.key);
      this.fire(item.key);
    }
    this.arm();
  }

  private less(a: Item, b: Item): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private push(x: Item): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Item | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
