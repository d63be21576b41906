// A watch-fed copy of every object of one kind, grouped by namespace ('' for cluster-scoped kinds): what admission plugins
// read per request instead of the store (upstream's informer listers). The store delivers events
// synchronously from its write path, so a write that returned is already visible here.
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { StoreEvent } from '../../storage/store.js';
import { listPrefix } from '../keys.js';
import type { Registry } from '../registry.js';

export class NamespacedObjectCache<T extends KubeObject = KubeObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private loaded?: Promise<void>;

  constructor(
    private readonly reg: Registry,
    private readonly info: KindInfo,
  ) {}

  /** Objects in `namespace`, sorted by name. */
  async list(namespace: string): Promise<T[]> {
    await (this.loaded ??= this.load());
    const m = this.byNamespace.get(namespace);
    return m ? [...m.values()].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1)) : [];
  }

  private async load(): Promise<void> {
    const store = this.reg.storeFor(this.info);
    const prefix = listPrefix(this.info, undefined);
    const page = await store.list(prefix, {});
    for (const v of page.items) this.put(v.key.slice(prefix.length), JSON.parse(v.value) as T);
    store.watch(prefix, {
      afterRev: page.revision,
      onEvent: (ev: StoreEvent) => {
        const rest = ev.key.slice(prefix.length);
        if (ev.type === 'DELETED') this.remove(rest);
        else this.put(rest, JSON.parse(ev.value) as T);
      },
    });
  }

  /** One object; cluster-scoped kinds have namespace ''. */
  async get(namespace: string, name: string): Promise<T | undefined> {
    await (this.loaded ??= this.load());
    return this.byNamespace.get(namespace)?.get(name);
  }

  private split(rest: string): [string, string] {
    if (!this.info.namespaced) return ['', rest];
    const i = rest.indexOf('/');
    return [rest.slice(0, i), rest.slice(i + 1)];
  }

  private put(rest: string, obj: T): void {
    const [ns, name] = this.split(rest);
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(name, obj);
  }

  private remove(rest: string): void {
    const [ns, name] = this.split(rest);
    const m = this.byNamespace.get(ns);
    m?.delete(name);
    if (m && !m.size) this.byNamespace.delete(ns);
  }
}
