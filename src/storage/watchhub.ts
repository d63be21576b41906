// Watch fan-out shared by the storage backends: a window of recent events for resumption
// and watchers indexed by resource, so a write only visits the watchers of its resource.
import type { StoreEvent, Watcher } from './store.js';

/** The last `capacity` events, in revision order. */
export class EventWindow {
  private readonly buf: (StoreEvent | undefined)[];
  private start = 0;
  private size = 0;

  /** Every event with rev > coveredFrom is in the window. */
  constructor(
    readonly capacity: number,
    private coveredFrom: number,
  ) {
    this.buf = new Array<StoreEvent | undefined>(capacity);
  }

  covers(afterRev: number): boolean {
    return afterRev >= this.coveredFrom;
  }

  push(ev: StoreEvent): void {
    if (this.capacity === 0) {
      this.coveredFrom = ev.rev;
      return;
    }
    if (this.size === this.capacity) {
      this.coveredFrom = this.buf[this.start]!.rev;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    this.buf[(this.start + this.size) % this.capacity] = ev;
    this.size++;
  }

  /** Events with rev > afterRev whose key starts with prefix (afterRev must be covered). */
  eventsAfter(afterRev: number, prefix: string): StoreEvent[] {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).rev <= afterRev) lo = mid + 1;
      else hi = mid;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < this.size; i++) {
      const ev = this.at(i);
      if (ev.key.startsWith(prefix)) out.push(ev);
    }
    return out;
  }

  private at(i: number): StoreEvent {
    return this.buf[(this.start + i) % this.capacity]!;
  }
}

interface WatchEntry {
  readonly prefix: string;
  readonly bucketKey: string | undefined;
  bucket?: Set<WatchEntry>;
  readonly onEvent: (ev: StoreEvent) => void;
  /** the newest revision delivered (or skipped by replay); later duplicates are dropped */
  lastRev: number;
  stopped: boolean;
}

/**
 * The resource part of a key or watch prefix: its first two segments (`/core/pods/`), or
 * undefined when it is shorter (such watchers see every write).
 */
export function resourceOf(keyOrPrefix: string): string | undefined {
  const second = keyOrPrefix.indexOf('/', 1);
  if (second < 0) return undefined;
  const third = keyOrPrefix.indexOf('/', second + 1);
  return third < 0 ? undefined : keyOrPrefix.slice(0, third + 1);
}

export class WatchHub {
  private readonly window: EventWindow;
  private readonly byResource = new Map<string, Set<WatchEntry>>();
  private readonly broad = new Set<WatchEntry>();
  private readonly queue: StoreEvent[] = [];
  private delivering = false;
  private watcherCount = 0;

  constructor(windowSize: number, currentRev: number) {
    this.window = new EventWindow(windowSize, currentRev);
  }

  get watchers(): number {
    return this.watcherCount;
  }

  /**
   * Called after a write commits. An event published while delivering (a write made by a watcher)
   * is queued, so every watcher still sees revision order.
   */
  readonly publish = (ev: StoreEvent): void => {
    this.window.push(ev);
    this.queue.push(ev);
    if (!this.delivering) this.drain();
  };

  /**
   * Replays the events after `afterRev` (from the window, or `loadHistory` when older ones are
   * needed), then delivers new ones. The caller has checked `afterRev` against compaction.
   */
  watch(
    prefix: string,
    afterRev: number,
    onEvent: (ev: StoreEvent) => void,
    loadHistory: (afterRev: number, prefix: string) => StoreEvent[],
  ): Watcher {
    const entry: WatchEntry = { prefix, bucketKey: resourceOf(prefix), onEvent, lastRev: afterRev, stopped: false };
    const replay = this.window.covers(afterRev)
      ? this.window.eventsAfter(afterRev, prefix)
      : loadHistory(afterRev, prefix);

    const outer = this.delivering;
    this.delivering = true;
    try {
      for (const ev of replay) this.deliver(entry, ev);
    } finally {
      if (!entry.stopped) this.add(entry);
      if (!outer) this.drain();
    }
    return { stop: () => this.remove(entry) };
  }

  /** Forgets every watcher (the store is closing). */
  clear(): void {
    for (const bucket of [this.broad, ...this.byResource.values()]) {
      for (const entry of bucket) entry.stopped = true;
    }
    this.broad.clear();
    this.byResource.clear();
    this.watcherCount = 0;
    this.queue.length = 0;
  }

  private drain(): void {
    this.delivering = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        const ev = this.queue[i];
        const key = resourceOf(ev.key);
        const bucket = key === undefined ? undefined : this.byResource.get(key);
        if (bucket) for (const entry of bucket) this.deliver(entry, ev);
        for (const entry of this.broad) this.deliver(entry, ev);
      }
    } finally {
      this.queue.length = 0;
      this.delivering = false;
    }
  }

  private deliver(entry: WatchEntry, ev: StoreEvent): void {
    if (entry.stopped || ev.rev <= entry.lastRev || !ev.key.startsWith(entry.prefix)) return;
    entry.lastRev = ev.rev;
    try {
      entry.onEvent(ev);
    } catch {
      // A failing consumer loses its watch (as if it fell behind); the writer and other watchers go on.
      this.remove(entry);
    }
  }

  private add(entry: WatchEntry): void {
    let bucket = entry.bucketKey === undefined ? this.broad : this.byResource.get(entry.bucketKey);
    if (!bucket) {
      bucket = new Set();
      this.byResource.set(entry.bucketKey!, bucket);
    }
    entry.bucket = bucket;
    bucket.add(entry);
    this.watcherCount++;
  }

  private remove(entry: WatchEntry): void {
    if (entry.stopped) return;
    entry.stopped = true;
    if (!entry.bucket?.delete(entry)) return;
    this.watcherCount--;
    if (entry.bucket.size === 0 && entry.bucketKey !== undefined) this.byResource.delete(entry.bucketKey);
  }
}
