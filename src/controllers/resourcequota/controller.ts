// The ResourceQuota controller (upstream pkg/controller/resourcequota): `status.hard` follows
// `spec.hard`, and `status.used` is recomputed from the objects that exist, which gives back what
// deletions and terminal pods no longer use (admission only ever charges). A quota is recomputed when
// its spec changes, when something it measures is deleted or a pod ends, and every five minutes.
import type { Pod, ResourceQuota } from 'kubernetes-types/core/v1.js';
import { deepEqual } from '../../api/object.js';
import { fromUsage, objectUsage, quotaNameMatches, quotaScopesMatch, addUsage, type Usage } from '../../api/quotausage.js';
import type { KubeObject } from '../../api/types.js';
import type { Informer } from '../../client/informer.js';
import { isNotFound, type ResourceRef } from '../../client/rest.js';
import { NAMESPACE_INDEX } from '../../client/informer.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { newQuantity } from '../../api/quantity.js';

export const RESOURCE_QUOTAS: ResourceRef = { group: '', version: 'v1', resource: 'resourcequotas', namespaced: true };

/** What the controller can count (upstream counts any resource through dynamic informers). */
const MEASURED: ResourceRef[] = [
  RESOURCES.pods,
  RESOURCES.services,
  RESOURCES.configmaps,
  RESOURCES.secrets,
  RESOURCES.persistentvolumeclaims,
  RESOURCES.replicationcontrollers,
  RESOURCE_QUOTAS,
  RESOURCES.deployments,
  RESOURCES.replicasets,
  RESOURCES.statefulsets,
  RESOURCES.daemonsets,
  RESOURCES.jobs,
  RESOURCES.cronjobs,
];

/** Only counted (no spec or status in the usage): watched as metadata, as the garbage collector does. */
const COUNTED_BY_METADATA = new Set<ResourceRef>([RESOURCES.configmaps, RESOURCES.secrets]);

export const FULL_RESYNC_MS = 5 * 60_000;

const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota';
  private readonly quotas: Informer<ResourceQuota & KubeObject>;
  private readonly measured: { ref: ResourceRef; informer: Informer<KubeObject> }[];
  private readonly queue = new WorkQueue({ name: 'resourcequota' });
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.quotas = ctx.informers.informer<ResourceQuota & KubeObject>(RESOURCE_QUOTAS);
    const key = (rq: ResourceQuota) => `${rq.metadata?.namespace}/${rq.metadata?.name}`;
    this.quotas.addEventHandler({
      onAdd: (rq) => this.queue.add(key(rq)),
      // admission's charges change only status.used: recomputing on them would race with the charge
      onUpdate: (_old, rq) => {
        if (!deepEqual(rq.spec?.hard ?? {}, rq.status?.hard ?? {})) this.queue.add(key(rq));
      },
    });
    this.measured = MEASURED.map((ref) => ({
      ref,
      informer:
        ref === RESOURCE_QUOTAS
          ? (this.quotas as unknown as Informer<KubeObject>)
          : COUNTED_BY_METADATA.has(ref)
            ? (ctx.informers.metadataInformer(ref) as unknown as Informer<KubeObject>)
            : ctx.informers.informer<KubeObject>(ref),
    }));
    const replenish = (obj: KubeObject) => this.enqueueNamespace(obj.metadata?.namespace);
    for (const { ref, informer } of this.measured) {
      if (ref === RESOURCE_QUOTAS) continue;
      informer.addEventHandler({
        onDelete: replenish,
        onUpdate:
          ref === RESOURCES.pods
            ? (o, n) => {
                if (!isTerminal(o as Pod) && isTerminal(n as Pod)) replenish(n);
              }
            : ref === RESOURCES.services || ref === RESOURCES.persistentvolumeclaims
              ? (o, n) => {
                  if (!deepEqual(o.spec, n.spec)) replenish(n);
                }
              : undefined,
      });
    }
  }

  private enqueueNamespace(ns: string | undefined): void {
    if (!ns) return;
    for (const rq of this.quotas.byIndex(NAMESPACE_INDEX, ns)) this.queue.add(`${ns}/${rq.metadata?.name}`);
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 2, (k) => this.sync(k), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** Usage of everything in `namespace` that `rq` measures. */
  usage(rq: ResourceQuota): Usage {
    const ns = rq.metadata?.namespace ?? '';
    const hard = Object.keys(rq.spec?.hard ?? {});
    const now = this.ctx.clock.now();
    let used: Usage = new Map();
    for (const { ref, informer } of this.measured) {
      const names = hard.filter((k) => quotaNameMatches(ref.group, ref.resource, k));
      if (!names.length) continue;
      for (const n of names) used.set(n, newQuantity(0));
      for (const obj of informer.byIndex(NAMESPACE_INDEX, ns)) {
        if (!quotaScopesMatch(rq, ref.group, ref.resource, obj)) continue;
        const u = objectUsage(ref.group, ref.resource, obj, now);
        used = addUsage(used, new Map([...u].filter(([k]) => names.includes(k))));
      }
    }
    return used;
  }

  async sync(key: string): Promise<number | void> {
    const rq = this.quotas.get(key);
    if (!rq) return;
    const hard = rq.spec?.hard ?? {};
    const used = fromUsage(this.usage(rq));
    if (deepEqual(rq.status?.hard ?? {}, hard) && deepEqual(rq.status?.used ?? {}, used)) return FULL_RESYNC_MS;
    const next = { ...rq, status: { hard, used } };
    try {
      // the cached resourceVersion is the precondition: a charge admission made meanwhile wins (409, retry)
      await this.ctx.client.resource<ResourceQuota & KubeObject>(RESOURCE_QUOTAS, rq.metadata?.namespace).updateStatus(next);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    return FULL_RESYNC_MS;
  }
}

export const resourceQuotaController: ControllerFactory = (ctx) => new ResourceQuotaController(ctx);
