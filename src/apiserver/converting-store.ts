// A view of the store for a kind kept in another kind's storage (events.k8s.io Events live as core
// Events, as upstream stores them): objects are converted on the way in and out.
import type { KubeObject } from '../api/types.js';
import type { ListOptions, ListResult, StorableObject, Store, StoredValue, StoreEvent, WatchOptions, Watcher } from '../storage/store.js';

export interface StorageConversion {
  toStorage(obj: KubeObject): KubeObject;
  fromStorage(obj: KubeObject): KubeObject;
}

export class ConvertingStore implements Store {
  constructor(
    private readonly inner: Store,
    private readonly conv: StorageConversion,
  ) {}

  private out(value: string): string {
    return JSON.stringify(this.conv.fromStorage(JSON.parse(value) as KubeObject));
  }
  private outValue(v: StoredValue): StoredValue {
    return { ...v, value: this.out(v.value) };
  }
  /** the caller's object gets the resourceVersion the store gave the converted one */
  private stamp(obj: StorableObject, v: StoredValue): StoredValue {
    const meta = ((obj as KubeObject).metadata ??= {});
    meta.resourceVersion = String(v.rev);
    return this.outValue(v);
  }

  currentRevision() {
    return this.inner.currentRevision();
  }
  compactedRevision() {
    return this.inner.compactedRevision();
  }
  async get(key: string) {
    const v = await this.inner.get(key);
    return v && this.outValue(v);
  }
  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const r = await this.inner.list(prefix, opts);
    return { ...r, items: r.items.map((v) => this.outValue(v)) };
  }
  count(prefix: string) {
    return this.inner.count(prefix);
  }
  async create(key: string, obj: StorableObject) {
    return this.stamp(obj, await this.inner.create(key, this.conv.toStorage(obj as KubeObject)));
  }
  async update(key: string, obj: StorableObject, expectedRev: number) {
    return this.stamp(obj, await this.inner.update(key, this.conv.toStorage(obj as KubeObject), expectedRev));
  }
  async delete(key: string, expectedRev?: number) {
    return this.outValue(await this.inner.delete(key, expectedRev));
  }
  watch(prefix: string, opts: WatchOptions): Watcher {
    return this.inner.watch(prefix, {
      afterRev: opts.afterRev,
      onEvent: (ev: StoreEvent) =>
        opts.onEvent({ ...ev, value: this.out(ev.value), ...(ev.prevValue ? { prevValue: this.out(ev.prevValue) } : {}) }),
    });
  }
  compact() {
    return this.inner.compact();
  }
  close() {
    return this.inner.close();
  }
}
