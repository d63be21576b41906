// Serves what CustomResourceDefinitions define: watches the stored CRDs, registers their kinds in the
// scheme (then reports NamesAccepted / Established in their status), and on deletion removes every
// custom resource before letting the CRD go (finalizer customresourcecleanup.apiextensions.k8s.io).
import type { CustomResourceDefinition, CustomResourceDefinitionStatus } from 'kubernetes-types/apiextensions/v1.js';
import { crdConditionTrue, CUSTOM_RESOURCE_CLEANUP_FINALIZER, setCondition } from '../../api/kinds/crd.js';
import { isStatusError } from '../../api/errors.js';
import { deepClone, deepEqual } from '../../api/object.js';
import type { Scheme } from '../../api/scheme.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { Watcher } from '../../storage/store.js';
import type { Registry } from '../registry.js';
import { kindsForCRD } from './kinds.js';

const CLEANUP_RETRY_MS = 1000;

interface Served {
  /** what the kinds were built from: a change re-registers them */
  signature: string;
  kinds: KindInfo[];
}

/** Statuses compared without their condition timestamps. */
function sameStatus(a: CustomResourceDefinitionStatus | undefined, b: CustomResourceDefinitionStatus | undefined): boolean {
  const strip = (s: CustomResourceDefinitionStatus | undefined) => ({
    ...(s ?? {}),
    conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: undefined })),
  });
  return deepEqual(strip(a), strip(b));
}

export class CustomResourceDefinitionController {
  private readonly served = new Map<string, Served>();
  private readonly terminating = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private watcher?: Watcher;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly scheme: Scheme,
    private readonly log: (line: string) => void = () => {},
  ) {}

  private crdKind(): KindInfo {
    const k = this.scheme.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    if (!k) throw new Error('the scheme does not serve customresourcedefinitions');
    return k;
  }

  /** Registers the kinds of every stored CRD, then follows changes. */
  async start(): Promise<void> {
    const info = this.crdKind();
    const list = await this.registry.list(info, undefined, {});
    for (const it of list.items) await this.sync(it.obj as unknown as CustomResourceDefinition);
    this.watcher = await this.registry.watch(info, undefined, { resourceVersion: list.resourceVersion }, (type, item) => {
      const crd = item.obj as unknown as CustomResourceDefinition;
      this.enqueue(() => (type === 'DELETED' ? this.removed(crd) : this.sync(crd)));
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
  }

  /** Resolves once every change seen so far has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((e: unknown) => this.log(`customresourcedefinitions: ${(e as Error).stack ?? String(e)}`));
  }

  private async removed(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata?.name ?? '';
    this.unserve(name);
    this.terminating.delete(name);
    const t = this.retries.get(name);
    if (t) clearTimeout(t);
    this.retries.delete(name);
  }

  private unserve(name: string): void {
    const s = this.served.get(name);
    if (!s) return;
    for (const k of s.kinds) this.scheme.unregister(k.group, k.version, k.resource);
    this.served.delete(name);
  }

  /** Another CRD or built-in kind of the group already uses one of these names: the reason and message. */
  private nameConflict(crd: CustomResourceDefinition): { reason: string; message: string } | undefined {
    const { group, names } = crd.spec;
    const mine = new Set(this.served.get(crd.metadata?.name ?? '')?.kinds ?? []);
    for (const k of this.scheme.kinds()) {
      if (k.group !== group || mine.has(k)) continue;
      if (k.resource === names.plural) return { reason: 'PluralConflict', message: `"${names.plural}" is already in use` };
      if (names.singular && k.singular === names.singular) return { reason: 'SingularConflict', message: `"${names.singular}" is already in use` };
      if (k.kind === names.kind) return { reason: 'KindConflict', message: `"${names.kind}" is already in use` };
      for (const s of names.shortNames ?? []) if (k.shortNames?.includes(s)) return { reason: 'ShortNamesConflict', message: `"${s}" is already in use` };
    }
    return undefined;
  }

  private async sync(crd: CustomResourceDefinition): Promise<void> {
    if (this.stopped) return;
    const name = crd.metadata?.name ?? '';
    if (crd.metadata?.deletionTimestamp) {
      this.terminating.add(name);
      if ((crd.metadata.finalizers ?? []).includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER)) await this.cleanup(crd);
      return;
    }
    this.terminating.delete(name);
    const conflict = this.nameConflict(crd);
    if (!conflict) {
      const signature = JSON.stringify(crd.spec);
      if (this.served.get(name)?.signature !== signature) {
        const kinds = kindsForCRD(crd, { terminating: () => this.terminating.has(name) });
        this.unserve(name);
        try {
          this.scheme.register(...kinds);
          this.served.set(name, { signature, kinds });
        } catch (e) {
          this.log(`customresourcedefinitions: cannot serve ${name}: ${(e as Error).message}`);
          for (const k of kinds) if (this.scheme.lookup(k.group, k.version, k.resource) === k) this.scheme.unregister(k.group, k.version, k.resource);
          return;
        }
      }
    }
    await this.updateStatus(name, (next) => {
      if (conflict) {
        setCondition(next, { type: 'NamesAccepted', status: 'False', reason: conflict.reason, message: conflict.message });
        if (!crdConditionTrue(next, 'Established')) setCondition(next, { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
        return;
      }
      const status = (next.status ??= {}) as { acceptedNames?: unknown };
      const names = deepClone(next.spec.names);
      status.acceptedNames = names;
      setCondition(next, { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
      setCondition(next, { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
    });
  }

  /** Writes the status `change` computes, when it differs from the stored one (other than timestamps). */
  private async updateStatus(name: string, change: (crd: CustomResourceDefinition) => void): Promise<void> {
    const info = this.crdKind();
    try {
      await this.registry.guaranteedUpdate(
        info,
        undefined,
        name,
        (current) => {
          const cur = current as unknown as CustomResourceDefinition;
          const next = deepClone(cur);
          change(next);
          if (sameStatus(next.status, cur.status)) return current!;
          return next as unknown as KubeObject;
        },
        { subresource: 'status', fieldManager: 'apiextensions-apiserver' },
      );
    } catch (e) {
      if (isStatusError(e) && e.code === 404) return;
      throw e;
    }
  }

  /** Deletes the custom resources of a CRD being deleted; removes the finalizer once none is left. */
  private async cleanup(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata!.name!;
    const kinds = this.served.get(name)?.kinds ?? kindsForCRD(crd, { terminating: () => true });
    const info = kinds.find((k) => k.version === crd.spec.versions.find((v) => v.storage)?.name) ?? kinds[0];
    let remaining = 0;
    if (info) {
      await this.updateStatus(name, (next) => {
        if (next.status?.conditions?.find((c) => c.type === 'Terminating')?.reason === 'InstanceDeletionPending')
          setCondition(next, { type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress' });
      });
      const list = await this.registry.list(info, undefined, {});
      for (const it of list.items) {
        try {
          const r = await this.registry.delete(info, it.obj.metadata.namespace, it.obj.metadata.name, {});
          if (!r.deleted) remaining++;
        } catch (e) {
          if (!(isStatusError(e) && e.code === 404)) {
            remaining++;
            this.log(`customresourcedefinitions: deleting ${info.resource} ${it.obj.metadata.name}: ${(e as Error).message}`);
          }
        }
      }
    }
    if (remaining > 0) {
      await this.updateStatus(name, (next) =>
        setCondition(next, { type: 'Terminating', status: 'True', reason: 'InstanceDeletionCheck', message: `could not confirm zero CustomResources remaining: ${remaining} remaining` }),
      );
      this.retryLater(name);
      return;
    }
    const crdInfo = this.crdKind();
    try {
      await this.registry.guaranteedUpdate(crdInfo, undefined, name, (current) => {
        const next = deepClone(current!);
        next.metadata!.finalizers = (next.metadata!.finalizers ?? []).filter((f) => f !== CUSTOM_RESOURCE_CLEANUP_FINALIZER);
        if (!next.metadata!.finalizers.length) delete next.metadata!.finalizers;
        return next;
      });
    } catch (e) {
      if (!(isStatusError(e) && e.code === 404)) throw e;
    }
  }

  private retryLater(name: string): void {
    if (this.retries.has(name) || this.stopped) return;
    const t = setTimeout(() => {
      this.retries.delete(name);
      this.enqueue(async () => {
        const cur = await this.registry.getItem(this.crdKind(), undefined, name);
        if (cur) await this.sync(cur.obj as unknown as CustomResourceDefinition);
      });
    }, CLEANUP_RETRY_MS);
    t.unref();
    this.retries.set(name, t);
  }
}
