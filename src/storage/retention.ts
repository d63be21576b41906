// How much history the backends keep, and when they compact: a timer armed by writes only,
// so an idle store runs nothing.
import type { ValueTransformer } from './encryption.js';

export interface StoreOptions {
  /** keep at least this many recent revisions of history (default 10,000) */
  historyRevisions?: number;
  /** and at least this many seconds of history (default 300) */
  historySeconds?: number;
  /** compaction runs this long after a write (default 30,000 ms) */
  compactIntervalMs?: number;
  /** recent events kept in memory to resume watches without reading history (default 4,096) */
  watchWindow?: number;
  /** encryption at rest of the values it covers (sqlite; the memory backend keeps nothing on disk) */
  valueTransformer?: ValueTransformer;
  /** sqlite: checkpoint the write-ahead log once writes pause this long (default 500 ms) */
  checkpointIdleMs?: number;
  /** sqlite: or once about this many bytes were committed since the last checkpoint (default 16 MiB) */
  checkpointBytes?: number;
}

export const DEFAULT_HISTORY_REVISIONS = 10_000;
export const DEFAULT_HISTORY_SECONDS = 300;
export const DEFAULT_COMPACT_INTERVAL_MS = 30_000;
export const DEFAULT_WATCH_WINDOW = 4_096;

/** Picks compaction targets (a revision and everything before it may go) and arms the compaction timer. */
export class CompactionSchedule {
  readonly historyRevisions: number;
  private readonly historyMs: number;
  private readonly intervalMs: number;
  /** `rev` had been written by time `at` */
  private samples: { at: number; rev: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private stopped = false;

  constructor(
    opts: StoreOptions,
    currentRev: number,
    private readonly run: () => Promise<void>,
    /** true while history older than `historyRevisions` is only held by the time rule */
    private readonly backlog: () => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.historyRevisions = Math.max(0, opts.historyRevisions ?? DEFAULT_HISTORY_REVISIONS);
    this.historyMs = Math.max(0, (opts.historySeconds ?? DEFAULT_HISTORY_SECONDS) * 1000);
    this.intervalMs = Math.max(1, opts.compactIntervalMs ?? DEFAULT_COMPACT_INTERVAL_MS);
    this.samples.push({ at: this.now(), rev: currentRev });
  }

  /** The newest revision that may be compacted now (everything at or below it), given the current one. */
  target(currentRev: number): number {
    const now = this.now();
    const last = this.samples[this.samples.length - 1];
    if (last.rev !== currentRev) this.samples.push({ at: now, rev: currentRev });
    const cutoff = now - this.historyMs;
    let old = -1;
    for (let i = 0; i < this.samples.length && this.samples[i].at <= cutoff; i++) old = i;
    if (old < 0) return 0;
    const timeRev = this.samples[old].rev;
    this.samples = this.samples.slice(old);
    return Math.max(0, Math.min(currentRev - this.historyRevisions, timeRev));
  }

  /** Notes a write: arms the timer if it is not armed. */
  wrote(): void {
    this.dirty = true;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => void this.fire(), this.intervalMs);
    this.timer.unref();
  }

  private async fire(): Promise<void> {
    this.dirty = false;
    try {
      await this.run();
    } catch (err) {
      // History stays until the next run; serving reads and writes matters more.
      console.error('storage: compaction failed:', err);
    } finally {
      this.timer = undefined;
      if (!this.stopped && (this.dirty || this.backlog())) this.arm();
    }
  }
}
