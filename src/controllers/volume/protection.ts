// Storage object in-use protection (upstream pkg/controller/volume/pvcprotection and pvprotection):
// a claim keeps its `kubernetes.io/pvc-protection` finalizer while a scheduled pod names it, a volume
// keeps `kubernetes.io/pv-protection` while it is Bound. Objects created before the admission plugin
// added the finalizer get it here.
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { splitMetaNamespaceKey, type Informer } from '../../client/informer.js';
import { isNotFound, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { claimKey, isPodTerminated, podClaimKeys, PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER } from './util.js';

const POD_PVC_INDEX = 'pvc-protection:pvc';

type Finalized = { metadata?: { finalizers?: string[]; deletionTimestamp?: string } };
const needToAddFinalizer = (o: Finalized, f: string) => !o.metadata?.deletionTimestamp && !(o.metadata?.finalizers ?? []).includes(f);
const isDeletionCandidate = (o: Finalized, f: string) => !!o.metadata?.deletionTimestamp && (o.metadata?.finalizers ?? []).includes(f);

/** Kubelet is done with the pod, or it was force-deleted. */
const podIsShutDown = (p: Pod) => !!p.metadata?.deletionTimestamp && p.metadata.deletionGracePeriodSeconds === 0;

/** Whether the pod holds the claim: any scheduled pod naming it; an ephemeral claim only while its pod runs. */
export function podUsesPVC(pod: Pod, pvc: PersistentVolumeClaim): boolean {
  if (!pod.spec?.nodeName || pod.metadata?.namespace !== pvc.metadata?.namespace) return false;
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName === pvc.metadata?.name) return true;
    if (v.ephemeral && !podIsShutDown(pod) && `${pod.metadata?.name ?? ''}-${v.name}` === pvc.metadata?.name) {
      const owner = (pvc.metadata?.ownerReferences ?? []).find((o) => o.controller);
      if (owner?.uid === pod.metadata?.uid) return true;
    }
  }
  return false;
}

export class PVCProtectionController implements Controller {
  readonly name = 'pvc-protection';
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly pods: Informer<Pod>;
  readonly queue = new WorkQueue({ name: 'pvcprotection' });
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.claims = ctx.informers.informer<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.pods.addIndexer(POD_PVC_INDEX, podClaimKeys);
    const onClaim = (c: PersistentVolumeClaim) => {
      if (needToAddFinalizer(c, PVC_PROTECTION_FINALIZER) || isDeletionCandidate(c, PVC_PROTECTION_FINALIZER)) this.queue.add(claimKey(c));
    };
    this.claims.addEventHandler({ onAdd: onClaim, onUpdate: (_o, c) => onClaim(c) });
    this.pods.addEventHandler({
      onAdd: (p) => this.enqueueClaims(p, false),
      onUpdate: (old, p) => {
        this.enqueueClaims(p, false);
        // an update may hide a delete and re-create under the same name
        if (old.metadata?.uid !== p.metadata?.uid) this.enqueueClaims(old, true);
      },
      onDelete: (p) => this.enqueueClaims(p, true),
    });
  }

  private enqueueClaims(pod: Pod, deleted: boolean): void {
    // only pods that can no longer hold a claim help remove its finalizer
    if (!deleted && !isPodTerminated(pod) && pod.spec?.nodeName) return;
    for (const k of podClaimKeys(pod)) this.queue.add(k);
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 1, (k) => this.sync(k), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  private client(namespace: string | undefined): ResourceClient<PersistentVolumeClaim> {
    return this.ctx.client.resource<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims, namespace);
  }

  async sync(key: string): Promise<void> {
    const pvc = this.claims.get(key);
    if (!pvc) return;
    if (isDeletionCandidate(pvc, PVC_PROTECTION_FINALIZER)) {
      if (await this.isBeingUsed(pvc)) {
        this.ctx.log(`pvc-protection: keeping ${key} because it is being used`);
        return;
      }
      await this.setFinalizers(pvc, (pvc.metadata?.finalizers ?? []).filter((f) => f !== PVC_PROTECTION_FINALIZER));
      return;
    }
    if (needToAddFinalizer(pvc, PVC_PROTECTION_FINALIZER)) await this.setFinalizers(pvc, [...(pvc.metadata?.finalizers ?? []), PVC_PROTECTION_FINALIZER]);
  }

  private async setFinalizers(pvc: PersistentVolumeClaim, finalizers: string[]): Promise<void> {
    try {
      await this.client(pvc.metadata?.namespace).update({ ...pvc, metadata: { ...pvc.metadata, finalizers } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The cache answers "in use" cheaply; "not in use" is confirmed with a live list, as upstream does. */
  private async isBeingUsed(pvc: PersistentVolumeClaim): Promise<boolean> {
    if (this.pods.byIndex(POD_PVC_INDEX, claimKey(pvc)).some((p) => podUsesPVC(p, pvc))) return true;
    const { namespace } = splitMetaNamespaceKey(claimKey(pvc));
    const live = await this.ctx.client.resource<Pod>(RESOURCES.pods, namespace).listAll();
    return live.items.some((p) => podUsesPVC(p, pvc));
  }
}

export class PVProtectionController implements Controller {
  readonly name = 'pv-protection';
  private readonly volumes: Informer<PersistentVolume>;
  readonly queue = new WorkQueue({ name: 'pvprotection' });
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.volumes = ctx.informers.informer<PersistentVolume>(RESOURCES.persistentvolumes);
    const onVolume = (v: PersistentVolume) => {
      if (needToAddFinalizer(v, PV_PROTECTION_FINALIZER) || isDeletionCandidate(v, PV_PROTECTION_FINALIZER)) this.queue.add(v.metadata?.name ?? '');
    };
    this.volumes.addEventHandler({ onAdd: onVolume, onUpdate: (_o, v) => onVolume(v) });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 1, (k) => this.sync(k), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  async sync(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv) return;
    let finalizers: string[] | undefined;
    // a Bound volume is in use; the PV controller moves it on once its claim is gone
    if (isDeletionCandidate(pv, PV_PROTECTION_FINALIZER) && pv.status?.phase !== 'Bound')
      finalizers = (pv.metadata?.finalizers ?? []).filter((f) => f !== PV_PROTECTION_FINALIZER);
    else if (needToAddFinalizer(pv, PV_PROTECTION_FINALIZER)) finalizers = [...(pv.metadata?.finalizers ?? []), PV_PROTECTION_FINALIZER];
    if (!finalizers) return;
    try {
      await this.ctx.client.resource<PersistentVolume>(RESOURCES.persistentvolumes).update({ ...pv, metadata: { ...pv.metadata, finalizers } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export const pvcProtectionController: ControllerFactory = (ctx) => new PVCProtectionController(ctx);
export const pvProtectionController: ControllerFactory = (ctx) => new PVProtectionController(ctx);
