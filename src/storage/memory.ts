// The in-memory backend: same semantics as the SQLite one, for tests of higher layers.
import {
  closedError,
  conflictError,
  keyExistsError,
  keyRange,
  listCompactedError,
  notFoundError,
  restampValue,
  restoreOnFailure,
  stampResourceVersion,
  watchCompactedError,
  type KeyRange,
} from './encoding.js';
import { CompactionSchedule, type StoreOptions } from './retention.js';
import {
  publishLending,
  type LentObjects,
  type ListOptions,
  type ListResult,
  type StorableObject,
  type Store,
  type StoreEvent,
  type StoredValue,
  type WatchOptions,
  type Watcher,
} from './store.js';
import { WatchHub } from './watchhub.js';

interface HistoryEntry {
  ev: StoreEvent;
  /** the key's state before this event (absent for ADDED) */
  prev?: StoredValue;
}

export class MemoryStore implements Store {
  private readonly objects = new Map<string, StoredValue>();
  /** the keys of `objects`, sorted */
  private readonly keys: string[] = [];
  /** every event after the compacted revision: history[i].ev.rev === compacted + 1 + i */
  private history: HistoryEntry[] = [];
  private rev = 0;
  private compacted = 0;
  private closed = false;
  private readonly hub: WatchHub;
  private readonly schedule: CompactionSchedule;

  constructor(opts: StoreOptions = {}) {
    // The history array already serves watch resumption; a separate window would only duplicate it.
    this.hub = new WatchHub(opts.watchWindow ?? 0, 0);
    this.schedule = new CompactionSchedule(
      opts,
      0,
      async () => this.compactSync(),
      () => this.rev - this.compacted > this.schedule.historyRevisions,
    );
  }

  currentRevision(): number {
    this.assertOpen();
    return this.rev;
  }

  compactedRevision(): number {
    this.assertOpen();
    return this.compacted;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.assertOpen();
    const v = this.objects.get(key);
    return v && { ...v };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    const range = keyRange(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const at = opts.revision;
    if (at !== undefined && at < this.rev) {
      if (at < this.compacted) throw listCompactedError(prefix, at, this.compacted);
      const all = this.stateAt(at, range, opts.after);
      const items = all.slice(0, limit);
      const remaining = all.length - items.length;
      return { items, revision: at, more: remaining > 0, remaining };
    }
    let start = lowerBound(this.keys, range.lo);
    if (opts.after !== undefined) start = Math.max(start, upperBound(this.keys, opts.after));
    const end = Math.max(start, lowerBound(this.keys, range.hi));
    const stop = Math.min(end, start + limit);
    const items = this.keys.slice(start, stop).map((k) => ({ ...this.objects.get(k)! }));
    return { items, revision: this.rev, more: stop < end, remaining: end - stop };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    const range = keyRange(prefix);
    return Math.max(0, lowerBound(this.keys, range.hi) - lowerBound(this.keys, range.lo));
  }

  async create(key: string, obj: StorableObject): Promise<StoredValue> {
    this.assertOpen();
    if (this.objects.has(key)) throw keyExistsError(key);
    const rev = this.rev + 1;
    const value = restoreOnFailure(obj, () => stampResourceVersion(obj, rev));
    const stored: StoredValue = { key, rev, createRev: rev, value };
    this.objects.set(key, stored);
    this.keys.splice(lowerBound(this.keys, key), 0, key);
    this.record({ type: 'ADDED', key, rev, value }, undefined, { value: obj });
    return { ...stored };
  }

  async update(key: string, obj: StorableObject, expectedRev: number, prev?: object): Promise<StoredValue> {
    this.assertOpen();
    const current = this.objects.get(key);
    if (!current) throw notFoundError(key);
    if (current.rev !== expectedRev) throw conflictError(key, expectedRev, { ...current });
    const rev = this.rev + 1;
    const value = restoreOnFailure(obj, () => stampResourceVersion(obj, rev));
    const stored: StoredValue = { key, rev, createRev: current.createRev, value };
    this.objects.set(key, stored);
    this.record({ type: 'MODIFIED', key, rev, value, prevValue: current.value }, current, { value: obj, prev });
    return { ...stored };
  }

  async delete(key: string, expectedRev?: number): Promise<StoredValue> {
    this.assertOpen();
    const current = this.objects.get(key);
    if (!current) throw notFoundError(key);
    if (expectedRev !== undefined && current.rev !== expectedRev) {
      throw conflictError(key, expectedRev, { ...current });
    }
    const rev = this.rev + 1;
    const value = restampValue(current.value, rev);
    this.objects.delete(key);
    this.keys.splice(lowerBound(this.keys, key), 1);
    this.record({ type: 'DELETED', key, rev, value, prevValue: current.value }, current);
    return { key, rev, createRev: current.createRev, value };
  }

  watch(prefix: string, opts: WatchOptions): Watcher {
    this.assertOpen();
    if (opts.afterRev < this.compacted) throw watchCompactedError(prefix, opts.afterRev, this.compacted);
    return this.hub.watch(prefix, opts.afterRev, opts.onEvent, (afterRev, p) => {
      const out: StoreEvent[] = [];
      for (let i = Math.max(0, afterRev - this.compacted); i < this.history.length; i++) {
        const ev = this.history[i].ev;
        if (ev.key.startsWith(p)) out.push(ev);
      }
      return out;
    });
  }

  async compact(): Promise<void> {
    this.assertOpen();
    this.compactSync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.schedule.stop();
    this.hub.clear();
    this.objects.clear();
    this.keys.length = 0;
    this.history = [];
  }

  private compactSync(): void {
    if (this.closed) return;
    const target = this.schedule.target(this.rev);
    if (target <= this.compacted) return;
    this.history = this.history.slice(target - this.compacted);
    this.compacted = target;
  }

  private record(ev: StoreEvent, prev?: StoredValue, objects: LentObjects = {}): void {
    this.rev = ev.rev;
    this.history.push({ ev, prev });
    publishLending(ev, objects, this.hub.publish);
    this.schedule.wrote();
  }

  /** The keys in `range` (and after `after`) as they were at revision `at` (not older than the compacted one). */
  private stateAt(at: number, range: KeyRange, after: string | undefined): StoredValue[] {
    const inRange = (k: string) => k >= range.lo && k < range.hi && (after === undefined || k > after);
    const firstChange = new Map<string, HistoryEntry>();
    for (let i = at - this.compacted; i < this.history.length; i++) {
      const entry = this.history[i];
      if (inRange(entry.ev.key) && !firstChange.has(entry.ev.key)) firstChange.set(entry.ev.key, entry);
    }
    const out: StoredValue[] = [];
    for (let i = lowerBound(this.keys, range.lo); i < this.keys.length && this.keys[i] < range.hi; i++) {
      const v = this.objects.get(this.keys[i])!;
      if (v.rev <= at && inRange(v.key)) out.push({ ...v });
    }
    for (const entry of firstChange.values()) {
      if (entry.prev) out.push({ ...entry.prev });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function lowerBound(sorted: readonly string[], k: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: readonly string[], k: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
