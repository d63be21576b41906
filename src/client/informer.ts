// An informer: list + watch one resource into a local cache, tell handlers what changed, and keep
// going through dropped streams (resume from the last resourceVersion) and expired ones (410: relist).
import type { Status } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../api/types.js';
import { ClientStatusError, isGone, type MetaObject, type ResourceClient, type WatchEvent } from './rest.js';

/** `namespace/name`, or `name` for cluster-scoped objects: the cache key and the work queue key. */
export function metaNamespaceKey(obj: MetaObject): string {
  const m = obj.metadata;
  return m?.namespace ? `${m.namespace}/${m.name ?? ''}` : (m?.name ?? '');
}

/** Splits a key made by metaNamespaceKey. */
export function splitMetaNamespaceKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type IndexFunc<T> = (obj: T) => string[];

export const NAMESPACE_INDEX = 'namespace';
export const namespaceIndexFunc: IndexFunc<MetaObject> = (obj) => [obj.metadata?.namespace ?? ''];

export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** `obj` is the last state seen (after a relist, possibly older than the real last state) */
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  labelSelector?: string;
  fieldSelector?: string;
  /** extra indexes by name; `namespace` is always there */
  indexers?: Record<string, IndexFunc<T>>;
  /** re-deliver every cached object to onUpdate this often; 0 (default) = never */
  resyncPeriodMs?: number;
  /** page size of lists (default 500) */
  pageSize?: number;
  /** backoff after failures: first delay and cap (default 800 ms, 30 s) */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  log?: (line: string) => void;
  /** a name for log lines (default: the resource) */
  name?: string;
  /** changes each object before it is cached and handed to handlers (e.g. drops managedFields to save memory) */
  transform?: (obj: T) => void;
}

/** Watches end on the server after 5–10 minutes, as client-go's reflector asks. */
const MIN_WATCH_TIMEOUT_S = 300;

export class Informer<T extends MetaObject = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private readonly log: (line: string) => void;
  private readonly name: string;
  private synced = false;
  private stopped = false;
  private running?: Promise<void>;
  private lastRV = '';
  private currentWatch?: { close(): void };
  private wake?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  private failures = 0;
  /** lists done so far (a relist after 410 counts) */
  listCount = 0;

  constructor(
    readonly client: ResourceClient<T>,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.name = opts.name ?? client.ref.resource;
    this.addIndexer(NAMESPACE_INDEX, namespaceIndexFunc as IndexFunc<T>);
    for (const [n, f] of Object.entries(opts.indexers ?? {})) this.addIndexer(n, f);
  }

  addEventHandler(h: EventHandlers<T>): this {
    this.handlers.push(h);
    // a handler added late still hears about what is already known
    if (h.onAdd) for (const obj of this.cache.values()) this.safe(() => h.onAdd!(obj));
    return this;
  }
  onAdd(fn: (obj: T) => void): this {
    return this.addEventHandler({ onAdd: fn });
  }
  onUpdate(fn: (oldObj: T, newObj: T) => void): this {
    return this.addEventHandler({ onUpdate: fn });
  }
  onDelete(fn: (obj: T) => void): this {
    return this.addEventHandler({ onDelete: fn });
  }

  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name) && name !== NAMESPACE_INDEX) throw new Error(`informer ${this.name}: indexer "${name}" exists`);
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indices.set(name, idx);
    for (const [key, obj] of this.cache) this.indexOne(name, fn, idx, key, obj);
  }

  start(): this {
    if (this.running || this.stopped) return this;
    this.running = this.run();
    const every = this.opts.resyncPeriodMs ?? 0;
    if (every > 0) {
      this.resyncTimer = setInterval(() => this.resync(), every);
      this.resyncTimer.unref();
    }
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.currentWatch?.close();
    this.wake?.();
    for (const w of this.syncWaiters.splice(0)) w();
    await this.running;
  }

  /** True once the first list has been stored and handlers told about it. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once synced (or stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The resourceVersion the cache reflects. */
  lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  // ---- cache reads ----

  get(key: string): T | undefined {
    return this.cache.get(key);
  }
  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }
  list(): T[] {
    return [...this.cache.values()];
  }
  keys(): string[] {
    return [...this.cache.keys()];
  }
  /** Objects whose index function returned `value`. */
  byIndex(indexName: string, value: string): T[] {
    const idx = this.indices.get(indexName);
    if (!idx) throw new Error(`informer ${this.name}: no indexer "${indexName}"`);
    const out: T[] = [];
    for (const key of idx.get(value) ?? []) {
      const obj = this.cache.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  // ---- the loop ----

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
        } catch (e) {
          if (this.stopped) break;
          this.log(`informer ${this.name}: list failed: ${errText(e)}`);
          await this.backoff();
          continue;
        }
      }
      const started = Date.now();
      let events = 0;
      try {
        const w = await this.client.watch({
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.lastRV,
          allowWatchBookmarks: true,
          timeoutSeconds: MIN_WATCH_TIMEOUT_S + Math.floor(Math.random() * MIN_WATCH_TIMEOUT_S),
        });
        this.currentWatch = w;
        if (this.stopped) w.close();
        for await (const ev of w.events) {
          if (this.stopped) break;
          events++;
          if (ev.type === 'ERROR') {
            const status = ev.object as Status;
            w.close();
            if (status.code === 410) {
              this.log(`informer ${this.name}: watch expired (${status.message ?? 'Gone'}), relisting`);
              needList = true;
            } else {
              throw new ClientStatusError(status);
            }
            break;
          }
          this.apply(ev);
        }
        w.close();
        if (!needList && events === 0 && Date.now() - started < 1000) {
          // a stream that ends at once without events is a failure, not a server timeout
          await this.backoff();
        } else {
          this.failures = 0;
        }
      } catch (e) {
        if (this.stopped) break;
        if (isGone(e)) {
          this.log(`informer ${this.name}: resourceVersion ${this.lastRV} is too old, relisting`);
          needList = true;
          continue;
        }
        this.log(`informer ${this.name}: watch failed: ${errText(e)}`);
        await this.backoff();
      } finally {
        this.currentWatch = undefined;
      }
    }
  }

  private async listAndReplace(): Promise<void> {
    const list = await this.client.listAll({ labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: this.opts.pageSize ?? 500 });
    this.listCount++;
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const obj of list.items) {
      if (!obj?.metadata?.name) {
        this.log(`informer ${this.name}: skipping a listed object without metadata.name`);
        continue;
      }
      const key = metaNamespaceKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.store(key, obj);
      if (!old) this.notify((h) => h.onAdd?.(obj));
      else if (old.metadata?.resourceVersion !== obj.metadata.resourceVersion) this.notify((h) => h.onUpdate?.(old, obj));
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.remove(key);
      this.notify((h) => h.onDelete?.(old));
    }
    this.lastRV = list.metadata?.resourceVersion ?? '';
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private apply(ev: WatchEvent<T>): void {
    const obj = ev.object as T;
    const rv = obj?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.lastRV = rv;
      return;
    }
    if (!obj?.metadata?.name) {
      this.log(`informer ${this.name}: skipping a ${ev.type} event without metadata.name`);
      if (rv) this.lastRV = rv;
      return;
    }
    const key = metaNamespaceKey(obj);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.remove(key);
      this.notify((h) => h.onDelete?.(obj));
    } else {
      this.store(key, obj);
      if (old) this.notify((h) => h.onUpdate?.(old, obj));
      else this.notify((h) => h.onAdd?.(obj));
    }
    if (rv) this.lastRV = rv;
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.cache.values()) this.notify((h) => h.onUpdate?.(obj, obj));
  }

  private store(key: string, obj: T): void {
    this.opts.transform?.(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) {
      for (const [name, fn] of this.indexers) this.indexOne(name, fn, this.indices.get(name)!, key, obj);
      return;
    }
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      let before: string[] | undefined;
      try {
        before = fn(old);
      } catch {
        // it failed when indexing too: nothing stored under it
      }
      let after: string[];
      try {
        after = fn(obj);
      } catch (e) {
        this.log(`informer ${this.name}: indexer "${name}" failed on ${key}: ${errText(e)}`);
        if (before) this.unindexValues(idx, key, before);
        continue;
      }
      // most updates keep their index values (namespace, node): leave those sets alone
      if (before && before.length === after.length && before.every((v, i) => v === after[i])) continue;
      if (before) this.unindexValues(idx, key, before);
      for (const v of after) {
        let set = idx.get(v);
        if (!set) idx.set(v, (set = new Set()));
        set.add(key);
      }
    }
  }

  private unindexValues(idx: Map<string, Set<string>>, key: string, values: string[]): void {
    for (const v of values) {
      const set = idx.get(v);
      if (!set) continue;
      set.delete(key);
      if (!set.size) idx.delete(v);
    }
  }

  private remove(key: string): void {
    const old = this.cache.get(key);
    if (!old) return;
    this.unindex(key, old);
    this.cache.delete(key);
  }

  private indexOne(name: string, fn: IndexFunc<T>, idx: Map<string, Set<string>>, key: string, obj: T): void {
    let values: string[];
    try {
      values = fn(obj);
    } catch (e) {
      this.log(`informer ${this.name}: indexer "${name}" failed on ${key}: ${errText(e)}`);
      return;
    }
    for (const v of values) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      let values: string[];
      try {
        values = fn(obj);
      } catch {
        // it failed when indexing too: nothing stored under it
        continue;
      }
      this.unindexValues(idx, key, values);
    }
  }

  private notify(call: (h: EventHandlers<T>) => void): void {
    for (const h of this.handlers) this.safe(() => call(h));
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`informer ${this.name}: event handler failed: ${errText(e)}`);
    }
  }

  private backoff(): Promise<void> {
    const base = this.opts.backoffInitialMs ?? 800;
    const max = this.opts.backoffMaxMs ?? 30_000;
    const d = Math.min(max, base * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    const jittered = d * (1 + Math.random() * 0.2);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, jittered);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
