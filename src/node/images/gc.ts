// Image garbage collection as the kubelet does it: when the image filesystem's usage reaches
// imageGCHighThresholdPercent, images no container uses go, least recently used first, until usage
// is under imageGCLowThresholdPercent. Content shared with kept images stays (ImageStore.remove
// prunes only what no image references).
//
// Each process that runs containers from the store lists the images they use in
// <root>/in-use/<pid>.json, so `timonel image prune` in another process keeps them too.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecord, ImageStore } from './store.js';

export interface FilesystemStats {
  capacityBytes: number;
  availableBytes: number;
}

export interface ImageGCOptions {
  /** default 85 (the kubelet's imageGCHighThresholdPercent) */
  highThresholdPercent?: number;
  /** default 80 (imageGCLowThresholdPercent) */
  lowThresholdPercent?: number;
  /** images stored more recently than this are kept (imageMinimumGCAge; default 2 min) */
  minAgeMs?: number;
  /** how often the agent checks (default 5 min, as the kubelet) */
  periodMs?: number;
  /** the image filesystem's size and free space (default: statfs of the store's root) */
  fsStats?: () => FilesystemStats;
}

export interface ImageGCResult {
  /** usage of the image filesystem before collecting, in percent */
  usagePercent: number;
  removedImages: ImageRecord[];
  /** bytes made available (by the filesystem's count) */
  freedBytes: number;
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const inUseDir = (root: string) => join(root, 'in-use');

/** Records the images (IDs or references) this process's containers use, for other processes' gc. */
export function recordImagesInUse(root: string, images: Iterable<string>): void {
  mkdirSync(inUseDir(root), { recursive: true, mode: 0o700 });
  const file = join(inUseDir(root), `${process.pid}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify([...images]));
  renameSync(`${file}.tmp`, file);
}

export function clearImagesInUse(root: string): void {
  rmSync(join(inUseDir(root), `${process.pid}.json`), { force: true });
}

/** The images live processes (this one included) recorded as in use. */
export function imagesInUse(root: string): Set<string> {
  const out = new Set<string>();
  let files: string[];
  try {
    files = readdirSync(inUseDir(root));
  } catch {
    return out;
  }
  for (const f of files) {
    const m = /^(\d+)\.json$/.exec(f);
    if (!m) continue;
    if (!pidAlive(Number(m[1]))) {
      rmSync(join(inUseDir(root), f), { force: true });
      continue;
    }
    try {
      for (const i of JSON.parse(readFileSync(join(inUseDir(root), f), 'utf8')) as string[]) out.add(i);
    } catch {
      // being rewritten
    }
  }
  return out;
}

/** Removes every image no live process records as in use (`timonel image prune`). */
export async function pruneUnusedImages(store: ImageStore): Promise<ImageRecord[]> {
  return (await store.gc(imagesInUse(store.root))).removedImages;
}

export function statfsStats(path: string): FilesystemStats {
  const s = statfsSync(path);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}

/** Bytes under `path` (regular files, by apparent size), for a store measured on its own. */
export function diskUsage(path: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(path, n);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) total += diskUsage(p);
    else if (st.isFile()) total += st.size;
  }
  return total;
}

export class ImageGarbageCollector {
  private readonly lastUsed = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<ImageGCResult>;
  readonly high: number;
  readonly low: number;
  private readonly fsStats: () => FilesystemStats;

  constructor(
    readonly store: ImageStore,
    private readonly o: ImageGCOptions & {
      /** images (IDs or references) the node's containers use */
      inUse: () => Iterable<string>;
      log?: (line: string) => void;
    },
  ) {
    this.high = o.highThresholdPercent ?? 85;
    this.low = o.lowThresholdPercent ?? 80;
    if (!(this.low >= 0 && this.low <= this.high && this.high <= 100)) throw new Error(`image GC thresholds: low ${this.low}% must be between 0 and high ${this.high}% (at most 100)`);
    this.fsStats = o.fsStats ?? (() => statfsStats(store.root));
  }

  /** Checks every `periodMs` (and once now); recording the images in use each time. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      void this.collect().catch((e: unknown) => this.o.log?.(`image gc: ${e instanceof Error ? e.message : String(e)}`));
    };
    this.timer = setInterval(tick, this.o.periodMs ?? 300_000);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
    clearImagesInUse(this.store.root);
  }

  /** One pass: frees space when usage is at or above the high threshold. */
  collect(): Promise<ImageGCResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private usedIDs(): Set<string> {
    const ids = new Set<string>();
    const names = [...this.o.inUse()];
    recordImagesInUse(this.store.root, names);
    for (const n of [...names, ...imagesInUse(this.store.root)]) {
      const found = this.store.resolve(n);
      if (found) ids.add(found.id);
    }
    return ids;
  }

  private async pass(): Promise<ImageGCResult> {
    const now = Date.now();
    const used = this.usedIDs();
    for (const id of used) this.lastUsed.set(id, now);
    const before = this.fsStats();
    const usagePercent = before.capacityBytes > 0 ? (100 * (before.capacityBytes - before.availableBytes)) / before.capacityBytes : 0;
    const result: ImageGCResult = { usagePercent, removedImages: [], freedBytes: 0 };
    if (usagePercent < this.high) return result;
    const wantAvailable = (before.capacityBytes * (100 - this.low)) / 100;
    const minAge = this.o.minAgeMs ?? 120_000;
    const lastUse = (i: ImageRecord) => this.lastUsed.get(i.id) ?? Date.parse(i.storedAt);
    const candidates = this.store
      .list()
      .filter((i) => !used.has(i.id) && now - Date.parse(i.storedAt) >= minAge)
      .sort((a, b) => lastUse(a) - lastUse(b));
    let available = before.availableBytes;
    for (const image of candidates) {
      if (available >= wantAvailable) break;
      await this.store.remove(image.id);
      this.lastUsed.delete(image.id);
      result.removedImages.push(image);
      available = this.fsStats().availableBytes;
    }
    result.freedBytes = available - before.availableBytes;
    if (available < wantAvailable) {
      this.o.log?.(`image gc: usage ${usagePercent.toFixed(1)}% ≥ ${this.high}%: freed ${result.freedBytes} bytes, ${Math.ceil(wantAvailable - available)} short of ${this.low}%`);
    }
    return result;
  }
}
