// The namespace controller: a Namespace being deleted is marked Terminating, everything in it is
// deleted (pods first), and once nothing is left the `kubernetes` finalizer is removed through
// `namespaces/<name>/finalize`, after which the API server deletes the Namespace.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { Informer } from '../../client/informer.js';
import {
  apiVersionOfRef,
  isConflict,
  isMethodNotSupported,
  isNotFound,
  RestClient,
  type DiscoveredResource,
  type ResourceClient,
  type ResourceRef,
} from '../../client/rest.js';
import type { Transport } from '../../client/transport.js';
import { ItemExponentialFailureRateLimiter, BucketRateLimiter, MaxOfRateLimiter, runWorkers, WorkQueue } from '../../client/workqueue.js';
import { NamespaceConditionUpdater, type ContentTotals } from './conditions.js';

export const FINALIZER_KUBERNETES = 'kubernetes';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };

/** Objects held by finalizers get this long (seconds) before the next look, as upstream assumes. */
const FINALIZER_ESTIMATE_SECONDS = 15;

export interface NamespaceControllerOptions {
  /** namespaces synced in parallel (default 5) */
  workers?: number;
  log?: (line: string) => void;
  /**
   * Cap on the wait before looking again at a namespace whose content is still going away
   * (upstream waits estimate/2 + 1 s; default: no cap).
   */
  maxRemainingRequeueMs?: number;
  /** re-examine every cached namespace this often (default 0: never; requeues cover pending work) */
  resyncPeriodMs?: number;
}

interface ResourceDeletion {
  /** seconds until what is left should be gone; 0 = no estimate */
  estimate: number;
  remaining: number;
  byFinalizer: Map<string, number>;
}

class DeletionError extends Error {
  constructor(
    message: string,
    readonly partial: ResourceDeletion,
  ) {
    super(message);
  }
}

/** `<resource>.<group>`, as upstream's condition messages name resources. */
const groupResource = (r: ResourceRef) => `${r.resource}.${r.group}`;
/** upstream's GroupVersionResource.String() */
const gvrString = (r: ResourceRef) => `${r.group}/${r.version}, Resource=${r.resource}`;
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class NamespaceController {
  readonly informer: Informer<Namespace>;
  readonly queue: WorkQueue;
  private readonly namespaces: ResourceClient<Namespace>;
  private readonly log: (line: string) => void;
  /** group/version/resource of resources that refused deletecollection or list */
  private readonly unsupported = new Set<string>();
  private workers?: Promise<void>;

  constructor(
    readonly rest: RestClient,
    private readonly opts: NamespaceControllerOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.namespaces = rest.resource<Namespace>(NAMESPACES);
    // upstream's namespace controller limiter: 5 ms doubling to 60 s per key, 10 qps overall
    this.queue = new WorkQueue({ name: 'namespace', rateLimiter: new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 60_000), new BucketRateLimiter(10, 100)) });
    this.informer = new Informer<Namespace>(this.namespaces, { log: this.log, resyncPeriodMs: opts.resyncPeriodMs });
    this.informer.addEventHandler({
      onAdd: (ns) => this.enqueue(ns),
      onUpdate: (_old, ns) => this.enqueue(ns),
    });
  }

  start(): this {
    this.informer.start();
    this.workers ??= runWorkers(this.queue, this.opts.workers ?? 5, (key) => this.sync(key), this.log);
    return this;
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.informer.stop();
    await this.workers;
  }

  private enqueue(ns: Namespace): void {
    if (ns.metadata?.deletionTimestamp && ns.metadata.name) this.queue.add(ns.metadata.name);
  }

  /**
   * One pass over the namespace `name`. Returns milliseconds after which to look again while
   * content is still going away; throws (→ rate-limited retry) when something failed.
   */
  async sync(name: string): Promise<number | void> {
    const cached = this.informer.get(name);
    if (!cached?.metadata?.deletionTimestamp) return;
    let ns: Namespace | undefined;
    try {
      ns = await this.namespaces.get(name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata?.deletionTimestamp) return;

    ns = await this.retryOnConflict(ns, (n) => this.markTerminating(n));
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) return;

    const { estimate, errors, status } = await this.deleteAllContent(ns);
    if (status) ns = status;
    if (errors.length) throw new Error(errors.join('; '));
    if (estimate > 0) {
      const ms = (Math.floor(estimate / 2) + 1) * 1000;
      return Math.min(ms, this.opts.maxRemainingRequeueMs ?? ms);
    }
    await this.retryOnConflict(ns, (n) => this.finalize(n));
  }

  /** Runs `fn` on the namespace, re-reading it after a conflict; undefined when it is gone. */
  private async retryOnConflict(ns: Namespace, fn: (ns: Namespace) => Promise<Namespace>): Promise<Namespace | undefined> {
    let latest = ns;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(latest);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        if (!isConflict(e) || attempt >= 10) throw e;
      }
      const prev = latest;
      try {
        latest = await this.namespaces.get(prev.metadata!.name!);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
      if (latest.metadata?.uid !== prev.metadata?.uid) throw new Error('namespace uid has changed across retries');
    }
  }

  private async markTerminating(ns: Namespace): Promise<Namespace> {
    if (ns.status?.phase === 'Terminating') return ns;
    return this.namespaces.updateStatus({ ...ns, status: { ...(ns.status ?? {}), phase: 'Terminating' } });
  }

  private async finalize(ns: Namespace): Promise<Namespace> {
    const finalizers = [...new Set((ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES))].sort();
    return this.namespaces.updateSubresource<Namespace>('finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: ns.metadata, spec: { ...(ns.spec ?? {}), finalizers } } as Namespace);
  }

  /** Deletes everything in the namespace; returns an estimate (seconds) of how long what is left takes. */
  private async deleteAllContent(ns: Namespace): Promise<{ estimate: number; errors: string[]; status?: Namespace }> {
    const name = ns.metadata!.name!;
    const deletedAt = Date.parse(ns.metadata!.deletionTimestamp!);
    const errors: string[] = [];
    const conditions = new NamespaceConditionUpdater();
    let resources: DiscoveredResource[] = [];
    try {
      const found = await this.rest.serverResources({ preferredOnly: true });
      resources = found.resources;
      if (found.failed.size) {
        const failed = new Map([...found.failed].map(([gv, e]) => [gv, errText(e)]));
        conditions.discoveryFailed('', failed);
        errors.push(`discovery failed for ${[...failed.keys()].join(', ')}`);
      }
    } catch (e) {
      conditions.discoveryFailed(errText(e));
      errors.push(`discovery failed: ${errText(e)}`);
    }
    const deletable = resources.filter((r) => r.namespaced && r.verbs.includes('delete'));
    const totals: ContentTotals = { byResource: new Map(), byFinalizer: new Map() };
    let estimate = 0;
    const record = (r: ResourceRef, d: ResourceDeletion) => {
      estimate = Math.max(estimate, d.estimate);
      if (d.remaining > 0) {
        totals.byResource.set(groupResource(r), d.remaining);
        for (const [f, n] of d.byFinalizer) if (n > 0) totals.byFinalizer.set(f, (totals.byFinalizer.get(f) ?? 0) + n);
      }
    };
    const deleteOne = async (r: DiscoveredResource) => {
      try {
        record(r, await this.deleteAllOf(r, name, deletedAt));
      } catch (e) {
        const msg = errText(e);
        errors.push(msg);
        conditions.contentDeletionFailed(msg);
        if (e instanceof DeletionError) record(r, e.partial);
      }
    };

    // Pods go first, so their controllers cannot recreate what they need while pods still run.
    const pods = deletable.find((r) => r.group === PODS.group && r.resource === PODS.resource);
    if (pods) await deleteOne(pods);
    if (!pods || !totals.byResource.has(groupResource(PODS))) {
      for (const r of deletable) if (r !== pods) await deleteOne(r);
    }
    conditions.contentTotals(totals);

    let status: Namespace | undefined;
    const next: Namespace = { ...ns, status: { ...(ns.status ?? {}), conditions: [...(ns.status?.conditions ?? [])] } };
    if (conditions.update(next.status!)) {
      try {
        status = await this.namespaces.updateStatus(next);
      } catch (e) {
        this.log(`namespace ${name}: could not update status conditions: ${errText(e)}`);
      }
    }
    return { estimate, errors, status };
  }

  /** Deletes every object of one resource in the namespace and reports what is left. */
  private async deleteAllOf(r: DiscoveredResource, namespace: string, deletedAt: number): Promise<ResourceDeletion> {
    const client = this.rest.resource(r, namespace);
    const id = `${apiVersionOfRef(r)}/${r.resource}`;
    const estimate = r.group === '' && r.resource === 'pods' ? await this.estimatePods(namespace, deletedAt) : 0;
    const partial: ResourceDeletion = { estimate, remaining: 0, byFinalizer: new Map() };
    const canList = r.verbs.includes('list') && !this.unsupported.has(`list ${id}`);

    let collectionDeleted = false;
    if (r.verbs.includes('deletecollection') && !this.unsupported.has(`deletecollection ${id}`)) {
      try {
        await client.deleteCollection({ propagationPolicy: 'Background' });
        collectionDeleted = true;
      } catch (e) {
        if (!isMethodNotSupported(e) && !isNotFound(e)) throw new DeletionError(errText(e), partial);
        this.unsupported.add(`deletecollection ${id}`);
      }
    }
    if (!collectionDeleted && canList) {
      const items = await this.listOrUnsupported(r, id, namespace, partial);
      for (const item of items ?? []) {
        const itemName = item.metadata?.name;
        if (!itemName) continue;
        try {
          await client.delete(itemName, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!isNotFound(e) && !isMethodNotSupported(e)) throw new DeletionError(errText(e), partial);
        }
      }
    }

    if (!canList) return partial;
    const left = await this.listOrUnsupported(r, id, namespace, partial);
    if (!left || left.length === 0) return { estimate: 0, remaining: 0, byFinalizer: new Map() };
    const byFinalizer = new Map<string, number>();
    for (const item of left) for (const f of item.metadata?.finalizers ?? []) byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + 1);
    const out: ResourceDeletion = { estimate, remaining: left.length, byFinalizer };
    if (estimate !== 0) return out;
    if (byFinalizer.size) return { ...out, estimate: FINALIZER_ESTIMATE_SECONDS };
    throw new DeletionError(`unexpected items still remain in namespace: ${namespace} for gvr: ${gvrString(r)}`, out);
  }

  private async listOrUnsupported(r: DiscoveredResource, id: string, namespace: string, partial: ResourceDeletion) {
    try {
      return (await this.rest.resource(r, namespace).listAll()).items;
    } catch (e) {
      if (isMethodNotSupported(e) || isNotFound(e)) {
        this.unsupported.add(`list ${id}`);
        return undefined;
      }
      throw new DeletionError(errText(e), partial);
    }
  }

  /** The longest grace period of the namespace's running pods, or 0 once that long has passed since the deletion. */
  private async estimatePods(namespace: string, deletedAt: number): Promise<number> {
    const pods = await this.rest.resource<Pod>(PODS, namespace).listAll();
    let estimate = 0;
    for (const pod of pods.items) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const grace = pod.spec?.terminationGracePeriodSeconds;
      if (typeof grace === 'number' && grace > estimate) estimate = grace;
    }
    if (Number.isFinite(deletedAt) && Date.now() - deletedAt >= estimate * 1000) return 0;
    return estimate;
  }
}

/** Starts the namespace controller over `transport`. */
export function startNamespaceController(transport: Transport, opts: NamespaceControllerOptions = {}): { controller: NamespaceController; stop(): Promise<void> } {
  const controller = new NamespaceController(new RestClient(transport, { fieldManager: 'namespace-controller' }), opts).start();
  return { controller, stop: () => controller.stop() };
}
