// Requeueing a key after a delay measured on the controller's Clock (deadlines, TTLs, backoffs), so a
// test driving a fake clock decides when they fire; WorkQueue.addAfter runs on wall-clock timers.
import type { Clock } from './manager.js';
import type { WorkQueue } from '../client/workqueue.js';

export class ClockDelays {
  private readonly pending = new Map<string, { due: number; handle: unknown }>();
  private stopped = false;

  constructor(
    private readonly queue: WorkQueue,
    private readonly clock: Clock,
  ) {}

  /** Adds `key` to the queue after `ms` of clock time; a key already waiting keeps the earlier time. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (!(ms > 0)) {
      this.queue.add(key);
      return;
    }
    const due = this.clock.now() + ms;
    const cur = this.pending.get(key);
    if (cur && cur.due <= due) return;
    if (cur) this.clock.clearTimeout(cur.handle);
    const handle = this.clock.setTimeout(() => {
      if (this.pending.get(key)?.handle === handle) this.pending.delete(key);
      this.queue.add(key);
    }, ms);
    this.pending.set(key, { due, handle });
  }

  /** When `key` is due next (clock ms), if it waits. */
  dueAt(key: string): number | undefined {
    return this.pending.get(key)?.due;
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.pending.values()) this.clock.clearTimeout(p.handle);
    this.pending.clear();
  }
}
