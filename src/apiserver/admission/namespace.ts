// NamespaceLifecycle: nothing is created in a namespace that does not exist or is being deleted,
// and the namespaces the system needs cannot be deleted.
import { errForbidden, errNotFound, StatusError } from '../../api/errors.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { StoreEvent } from '../../storage/store.js';
import { listPrefix } from '../keys.js';
import type { AdmissionPlugin, Registry } from '../registry.js';

interface NamespaceState {
  rev: number;
  exists: boolean;
  terminating: boolean;
}

/**
 * What every namespaced create asks: does the namespace exist, is it terminating. Answered from the
 * store's watch once a name has been read, as upstream answers it from an informer; entries carry their
 * revision so a read never overwrites what a newer event said.
 */
class NamespaceCache {
  private readonly states = new Map<string, NamespaceState>();
  /** names being read from the store: their events are kept even before the read returns */
  private readonly loading = new Map<string, number>();
  private watching = false;

  constructor(private readonly reg: Registry, private readonly nsKind: KindInfo) {}

  async get(name: string): Promise<NamespaceState> {
    this.watch();
    const known = this.states.get(name);
    if (known) return known;
    this.loading.set(name, (this.loading.get(name) ?? 0) + 1);
    let item;
    try {
      item = await this.reg.getItem(this.nsKind, undefined, name);
    } finally {
      const n = this.loading.get(name)! - 1;
      if (n) this.loading.set(name, n);
      else this.loading.delete(name);
    }
    const state = item
      ? { rev: Number(item.obj.metadata.resourceVersion), exists: true, terminating: isTerminating(item.obj) }
      : { rev: 0, exists: false, terminating: false };
    // an absent namespace may be created at any moment: only remember what exists
    if (item) this.remember(name, state);
    return this.states.get(name) ?? state;
  }

  private remember(name: string, state: NamespaceState): void {
    const known = this.states.get(name);
    if (!known || known.rev <= state.rev) this.states.set(name, state);
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const prefix = listPrefix(this.nsKind, undefined);
    this.reg.store.watch(prefix, {
      afterRev: this.reg.store.currentRevision(),
      onEvent: (ev: StoreEvent) => {
        const name = ev.key.slice(prefix.length);
        if (!this.states.has(name) && !this.loading.has(name)) return;
        if (ev.type === 'DELETED') {
          if (this.loading.has(name)) this.remember(name, { rev: ev.rev, exists: false, terminating: false });
          else this.states.delete(name);
          return;
        }
        const obj = JSON.parse(ev.value) as KubeObject;
        this.remember(name, { rev: ev.rev, exists: true, terminating: isTerminating(obj) });
      },
    });
  }
}

function isTerminating(ns: KubeObject): boolean {
  return Boolean(ns.metadata?.deletionTimestamp) || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating';
}

export const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

/** Kinds that may be written in a terminating namespace (what its cleanup itself writes). */
const ALLOWED_WHILE_TERMINATING = new Set(['events', 'leases', 'subjectaccessreviews', 'localsubjectaccessreviews', 'tokenreviews']);

export function namespaceLifecycle(namespaceKind: () => KindInfo | undefined): AdmissionPlugin {
  let cache: NamespaceCache | undefined;
  return {
    name: 'NamespaceLifecycle',
    async admit(op, info, obj: KubeObject, _old, reg: Registry) {
      if (info.resource === 'namespaces' && info.group === '') {
        if (op === 'delete' && IMMORTAL_NAMESPACES.has(obj.metadata?.name ?? ''))
          throw errForbidden(`namespaces "${obj.metadata?.name}" is forbidden: this namespace may not be deleted`, {
            name: obj.metadata?.name,
            kind: 'namespaces',
          });
        return;
      }
      if (!info.namespaced || op !== 'create') return;
      const nsName = obj.metadata?.namespace;
      if (!nsName) return;
      const nsKind = namespaceKind();
      if (!nsKind) return;
      cache ??= new NamespaceCache(reg, nsKind);
      const ns = await cache.get(nsName);
      if (!ns.exists) throw errNotFound({ group: '', resource: 'namespaces' }, nsName);
      if (ns.terminating && !ALLOWED_WHILE_TERMINATING.has(info.resource))
        throw new StatusError(
          403,
          'Forbidden',
          `${info.resource}${info.group ? '.' + info.group : ''} "${obj.metadata?.name ?? ''}" is forbidden: unable to create new content in namespace ${nsName} because it is being terminated`,
          { name: obj.metadata?.name, group: info.group || undefined, kind: info.resource, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${nsName} is being terminated`, field: 'metadata.namespace' }] },
        );
    },
  };
}
