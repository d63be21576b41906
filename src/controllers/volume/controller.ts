// The PersistentVolume binder (upstream pkg/controller/volume/persistentvolume): binds claims to the
// smallest matching Available volume or to the one they name, marks phases on both sides, asks an
// external provisioner for a volume when none fits (after the scheduler chose a node for
// WaitForFirstConsumer classes), and reclaims released volumes: Retain keeps them Released, Delete
// removes them (an external provisioner removes the ones it made).
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { isDefaultStorageClass } from '../../api/kinds/storageclass.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { isNotFound, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimClass,
  claimHasClass,
  claimKey,
  claimReference,
  claimRefKey,
  findBestMatchForClaim,
  hasAnnotation,
  isPodTerminated,
  isVolumeBoundToClaim,
  newerOrSame,
  podClaimKeys,
  volumeModeMismatch,
  volumeUnsatisfiedReason,
} from './util.js';

export const PV_CONTROLLER_COMPONENT = 'persistentvolume-controller';
const POD_PVC_INDEX = 'persistentvolume-binder:pvc';

export interface PersistentVolumeBinderOptions {
  /** how often every claim and volume is looked at again (upstream's 15 s default) */
  resyncPeriodMs?: number;
}

type ClaimPhase = 'Pending' | 'Bound' | 'Lost';
type VolumePhase = 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed';

/**
 * The informer caches overlaid with what this controller wrote itself: binding writes four objects in a
 * row, and a sync that runs before their watch events arrive must not undo them (upstream keeps its own
 * cache for the same reason).
 */
class Overlay<T extends PersistentVolume | PersistentVolumeClaim> {
  private readonly written = new Map<string, T>();
  constructor(private readonly informer: Informer<T>) {}

  get(key: string): T | undefined {
    const cached = this.informer.get(key);
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (!cached) return undefined;
    if (cached.metadata?.uid !== mine.metadata?.uid || newerOrSame(cached.metadata?.resourceVersion, mine.metadata?.resourceVersion)) {
      this.written.delete(key);
      return cached;
    }
    return mine;
  }

  list(): T[] {
    return this.informer.keys().map((k) => this.get(k)!).filter(Boolean);
  }

  store(key: string, obj: T): T {
    this.written.set(key, obj);
    return obj;
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}

export class PersistentVolumeBinderController implements Controller {
  readonly name = 'persistentvolume-binder';
  private readonly volumeInformer: Informer<PersistentVolume>;
  private readonly claimInformer: Informer<PersistentVolumeClaim>;
  private readonly classInformer: Informer<StorageClass>;
  private readonly podInformer: Informer<Pod>;
  private readonly volumes: Overlay<PersistentVolume>;
  private readonly claims: Overlay<PersistentVolumeClaim>;
  readonly claimQueue = new WorkQueue({ name: 'claims' });
  readonly volumeQueue = new WorkQueue({ name: 'volumes' });
  private readonly recorder: EventRecorder;
  private readonly pvClient: ResourceClient<PersistentVolume>;
  private workers?: Promise<unknown>;
  private resyncTimer?: unknown;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: PersistentVolumeBinderOptions = {},
  ) {
    this.volumeInformer = ctx.informers.informer<PersistentVolume>(RESOURCES.persistentvolumes);
    this.claimInformer = ctx.informers.informer<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims);
    this.classInformer = ctx.informers.informer<StorageClass>(RESOURCES.storageclasses);
    this.podInformer = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.podInformer.addIndexer(POD_PVC_INDEX, podClaimKeys);
    this.volumes = new Overlay(this.volumeInformer);
    this.claims = new Overlay(this.claimInformer);
    this.recorder = ctx.recorder(PV_CONTROLLER_COMPONENT);
    this.pvClient = ctx.client.resource<PersistentVolume>(RESOURCES.persistentvolumes);

    const addVolume = (v: PersistentVolume) => v.metadata?.name && this.volumeQueue.add(v.metadata.name);
    this.volumeInformer.addEventHandler({
      onAdd: addVolume,
      onUpdate: (_o, v) => addVolume(v),
      onDelete: (v) => {
        this.volumes.forget(v.metadata?.name ?? '');
        // the claim learns at once that it lost its volume
        if (v.spec?.claimRef) this.claimQueue.add(claimRefKey(v.spec.claimRef));
      },
    });
    const addClaim = (c: PersistentVolumeClaim) => this.claimQueue.add(claimKey(c));
    this.claimInformer.addEventHandler({
      onAdd: addClaim,
      onUpdate: (_o, c) => addClaim(c),
      onDelete: (c) => {
        this.claims.forget(claimKey(c));
        // the volume is released at once rather than at the next resync
        if (c.spec?.volumeName) this.volumeQueue.add(c.spec.volumeName);
      },
    });
    // a new default class can serve claims that have none yet
    this.classInformer.addEventHandler({
      onAdd: (sc) => isDefaultStorageClass(sc) && this.enqueueAll(),
      onUpdate: (_o, sc) => isDefaultStorageClass(sc) && this.enqueueAll(),
    });
  }

  run(): void {
    if (this.workers) return;
    this.workers = Promise.all([
      runWorkers(this.claimQueue, 1, (k) => this.syncClaimKey(k), this.ctx.log),
      runWorkers(this.volumeQueue, 1, (k) => this.syncVolumeKey(k), this.ctx.log),
    ]);
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer !== undefined) this.ctx.clock.clearTimeout(this.resyncTimer);
    this.claimQueue.shutDown();
    this.volumeQueue.shutDown();
    await this.workers;
  }

  private scheduleResync(): void {
    const every = this.opts.resyncPeriodMs ?? 15_000;
    if (every <= 0 || this.stopped) return;
    this.resyncTimer = this.ctx.clock.setTimeout(() => {
      this.enqueueAll();
      this.scheduleResync();
    }, every);
  }

  private enqueueAll(): void {
    for (const k of this.claimInformer.keys()) this.claimQueue.add(k);
    for (const k of this.volumeInformer.keys()) this.volumeQueue.add(k);
  }

  private claimClient(namespace: string | undefined): ResourceClient<PersistentVolumeClaim> {
    return this.ctx.client.resource<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims, namespace);
  }

  // ---- claims ----

  async syncClaimKey(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim) return;
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) await this.syncUnboundClaim(claim);
    else await this.syncBoundClaim(claim);
  }

  private isDelayBindingMode(claim: PersistentVolumeClaim): boolean {
    const name = claimClass(claim);
    if (!name) return false;
    return this.classInformer.get(name)?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  private async syncUnboundClaim(claim: PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      const delayBinding = this.isDelayBindingMode(claim);
      const volume = findBestMatchForClaim(claim, this.volumes.list(), delayBinding);
      if (volume) return this.bind(volume, claim);
      if (await this.assignDefaultStorageClass(claim)) return;
      if (delayBinding && !hasAnnotation(claim, ANN_SELECTED_NODE)) {
        this.emitEventForUnboundDelayBindingClaim(claim);
      } else if (claimClass(claim) !== '') {
        return this.provisionClaim(claim);
      } else {
        this.recorder.event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      }
      await this.updateClaimStatus(claim, 'Pending');
      return;
    }
    const volume = this.volumes.get(volumeName);
    if (!volume) {
      await this.updateClaimStatus(claim, 'Pending');
      return;
    }
    if (!volume.spec?.claimRef) {
      const why = volumeUnsatisfiedReason(volume, claim);
      if (why) {
        this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${why}`);
        await this.updateClaimStatus(claim, 'Pending');
        return;
      }
      return this.bind(volume, claim);
    }
    if (isVolumeBoundToClaim(volume, claim)) return this.bind(volume, claim);
    this.recorder.event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
    if (hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER))
      throw new Error(`invalid binding of claim "${claimKey(claim)}" to volume "${volumeName}": volume already claimed by "${claimRefKey(volume.spec.claimRef)}"`);
    await this.updateClaimStatus(claim, 'Pending');
  }

  private async syncBoundClaim(claim: PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      await this.updateClaimStatusWithEvent(claim, 'Lost', 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      return;
    }
    const volume = this.volumes.get(volumeName);
    if (!volume) {
      await this.updateClaimStatusWithEvent(claim, 'Lost', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      return;
    }
    const ref = volume.spec?.claimRef;
    if (!ref || ref.uid === claim.metadata?.uid) return this.bind(volume, claim);
    await this.updateClaimStatusWithEvent(claim, 'Lost', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  private emitEventForUnboundDelayBindingClaim(claim: PersistentVolumeClaim): void {
    const pods = this.podInformer
      .byIndex(POD_PVC_INDEX, claimKey(claim))
      .filter((p) => !isPodTerminated(p) && !p.spec?.nodeName)
      .map((p) => p.metadata?.name ?? '');
    if (!pods.length) return this.recorder.event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
    const message = pods.length > 1 ? `waiting for pods ${pods.join(',')} to be scheduled` : `waiting for pod ${pods[0]} to be scheduled`;
    this.recorder.event(claim, 'Normal', 'WaitForPodScheduled', message);
  }

  /** Retroactive default class: a claim made before any default class existed gets it now. */
  private async assignDefaultStorageClass(claim: PersistentVolumeClaim): Promise<boolean> {
    if (claimHasClass(claim)) return false;
    const def = defaultClass(this.classInformer.list());
    if (!def?.metadata?.name) return false;
    const updated = await this.claimClient(claim.metadata?.namespace).update({ ...claim, spec: { ...claim.spec, storageClassName: def.metadata.name } });
    this.claims.store(claimKey(updated), updated);
    return true;
  }

  /** No in-tree plugins here: every provisioner outside kubernetes.io/ is external and is asked through annotations. */
  private async provisionClaim(claim: PersistentVolumeClaim): Promise<void> {
    const className = claimClass(claim);
    const sc = this.classInformer.get(className);
    if (!sc) {
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const provisioner = sc.provisioner;
    if (provisioner.startsWith('kubernetes.io/')) {
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `no volume plugin matched name: ${provisioner}`);
      return;
    }
    let current = claim;
    if (claim.metadata?.annotations?.[ANN_STORAGE_PROVISIONER] !== provisioner) {
      try {
        current = await this.claimClient(claim.metadata?.namespace).update({
          ...claim,
          metadata: { ...claim.metadata, annotations: { ...(claim.metadata?.annotations ?? {}), [ANN_BETA_STORAGE_PROVISIONER]: provisioner, [ANN_STORAGE_PROVISIONER]: provisioner } },
        });
      } catch (e) {
        this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `Error saving claim: ${(e as Error).message}`);
        throw e;
      }
      this.claims.store(claimKey(current), current);
    }
    this.recorder.event(
      current,
      'Normal',
      'ExternalProvisioning',
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
  }

  // ---- binding ----

  private async bind(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<void> {
    let v = await this.bindVolumeToClaim(volume, claim);
    v = await this.updateVolumePhase(v, 'Bound');
    const c = await this.bindClaimToVolume(claim, v);
    await this.updateClaimStatus(c, 'Bound', v);
  }

  private async bindVolumeToClaim(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<PersistentVolume> {
    const ref = volume.spec?.claimRef;
    const needsRef = !ref || ref.name !== claim.metadata?.name || ref.namespace !== claim.metadata?.namespace || ref.uid !== claim.metadata?.uid;
    const needsAnnotation = !isVolumeBoundToClaim(volume, claim) && !hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER);
    if (!needsRef && !needsAnnotation) return volume;
    const next: PersistentVolume = { ...volume, metadata: { ...volume.metadata }, spec: { ...volume.spec } };
    if (needsRef) next.spec!.claimRef = claimReference(claim);
    if (needsAnnotation) next.metadata!.annotations = { ...(volume.metadata?.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
    const saved = await this.pvClient.update(next);
    return this.volumes.store(saved.metadata!.name!, saved);
  }

  private async bindClaimToVolume(claim: PersistentVolumeClaim, volume: PersistentVolume): Promise<PersistentVolumeClaim> {
    const annotations = { ...(claim.metadata?.annotations ?? {}) };
    let dirty = false;
    const spec = { ...claim.spec };
    if (spec.volumeName !== volume.metadata?.name) {
      spec.volumeName = volume.metadata?.name;
      annotations[ANN_BOUND_BY_CONTROLLER] ??= 'yes';
      dirty = true;
    }
    if (annotations[ANN_BIND_COMPLETED] === undefined) {
      annotations[ANN_BIND_COMPLETED] = 'yes';
      dirty = true;
    }
    if (!dirty) return claim;
    const saved = await this.claimClient(claim.metadata?.namespace).update({ ...claim, metadata: { ...claim.metadata, annotations }, spec });
    return this.claims.store(claimKey(saved), saved);
  }

  private async updateClaimStatus(claim: PersistentVolumeClaim, phase: ClaimPhase, volume?: PersistentVolume): Promise<PersistentVolumeClaim> {
    const status = { ...(claim.status ?? {}) };
    let dirty = false;
    if (status.phase !== phase) {
      status.phase = phase;
      dirty = true;
    }
    if (!volume) {
      if (status.accessModes !== undefined) {
        delete status.accessModes;
        dirty = true;
      }
      if (status.capacity !== undefined) {
        delete status.capacity;
        dirty = true;
      }
    } else {
      if (JSON.stringify(status.accessModes ?? null) !== JSON.stringify(volume.spec?.accessModes ?? null)) {
        status.accessModes = volume.spec?.accessModes;
        dirty = true;
      }
      // capacity is copied when the claim becomes Bound, never later: a resize may differ on purpose
      if (claim.status?.phase !== phase && status.capacity?.storage !== volume.spec?.capacity?.storage) {
        status.capacity = volume.spec?.capacity;
        dirty = true;
      }
    }
    if (!dirty) return claim;
    const saved = await this.claimClient(claim.metadata?.namespace).updateStatus({ ...claim, status });
    return this.claims.store(claimKey(saved), saved);
  }

  private async updateClaimStatusWithEvent(claim: PersistentVolumeClaim, phase: ClaimPhase, reason: string, message: string): Promise<void> {
    if (claim.status?.phase === phase) return;
    const saved = await this.updateClaimStatus(claim, phase);
    this.recorder.event(saved, 'Warning', reason, message);
  }

  private async updateVolumePhase(volume: PersistentVolume, phase: VolumePhase, message = ''): Promise<PersistentVolume> {
    if (volume.status?.phase === phase) return volume;
    const status = { ...(volume.status ?? {}), phase };
    if (message) status.message = message;
    else delete status.message;
    const saved = await this.pvClient.updateStatus({ ...volume, status });
    return this.volumes.store(saved.metadata!.name!, saved);
  }

  private async updateVolumePhaseWithEvent(volume: PersistentVolume, phase: VolumePhase, reason: string, message: string): Promise<PersistentVolume> {
    if (volume.status?.phase === phase) return volume;
    const saved = await this.updateVolumePhase(volume, phase, message);
    this.recorder.event(saved, 'Warning', reason, message);
    return saved;
  }

  /** Rolls back a binding: a controller-made one entirely, a user's pre-binding only to its uid. */
  private async unbindVolume(volume: PersistentVolume): Promise<void> {
    const next: PersistentVolume = { ...volume, metadata: { ...volume.metadata }, spec: { ...volume.spec } };
    if (hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER)) {
      delete next.spec!.claimRef;
      const annotations = { ...(volume.metadata?.annotations ?? {}) };
      delete annotations[ANN_BOUND_BY_CONTROLLER];
      next.metadata!.annotations = Object.keys(annotations).length ? annotations : undefined;
    } else if (volume.spec?.claimRef) {
      next.spec!.claimRef = { ...volume.spec.claimRef, uid: undefined };
    }
    const saved = this.volumes.store(volume.metadata!.name!, await this.pvClient.update(next));
    await this.updateVolumePhase(saved, 'Available');
  }

  // ---- volumes ----

  async syncVolumeKey(name: string): Promise<void> {
    const volume = this.volumes.get(name);
    if (!volume) return;
    const ref = volume.spec?.claimRef;
    if (!ref || !ref.uid) {
      // unused, or reserved for a claim whose own sync finishes the binding
      await this.updateVolumePhase(volume, 'Available');
      return;
    }
    let claim = await this.claimOfVolume(volume);
    if (claim && claim.metadata?.uid !== ref.uid) claim = undefined;
    if (!claim) {
      let v = volume;
      if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') v = await this.updateVolumePhase(v, 'Released');
      await this.reclaimVolume(v);
      return;
    }
    if (!claim.spec?.volumeName) {
      if (volumeModeMismatch(claim, volume)) {
        this.recorder.event(volume, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claim.metadata?.name ?? ''}" due to incompatible volumeMode.`);
        this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume "${volume.metadata?.name ?? ''}" to requested PersistentVolumeClaim due to incompatible volumeMode.`);
        return;
      }
      this.claimQueue.add(claimKey(claim));
      return;
    }
    if (claim.spec.volumeName === volume.metadata?.name) {
      await this.updateVolumePhase(volume, 'Bound');
      return;
    }
    // the claim got bound to another volume
    if (hasAnnotation(volume, ANN_DYNAMICALLY_PROVISIONED) && volume.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      let v = volume;
      if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') v = await this.updateVolumePhase(v, 'Released');
      await this.reclaimVolume(v);
      return;
    }
    await this.unbindVolume(volume);
  }

  /** The claim the volume points to: cache first, then the API, so a claim not yet seen is never taken for deleted. */
  private async claimOfVolume(volume: PersistentVolume): Promise<PersistentVolumeClaim | undefined> {
    const ref = volume.spec!.claimRef!;
    const cached = this.claims.get(claimRefKey(ref));
    const settled = volume.status?.phase === 'Released' || volume.status?.phase === 'Failed';
    if (cached && cached.metadata?.uid === ref.uid) return cached;
    if (!cached && settled) return undefined;
    try {
      return await this.claimClient(ref.namespace).get(ref.name ?? '');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Whether the volume's claim is gone (or bound elsewhere): only then is reclaiming safe. */
  private isVolumeReleased(volume: PersistentVolume): boolean {
    const ref = volume.spec?.claimRef;
    if (!ref?.uid) return false;
    const claim = this.claims.get(claimRefKey(ref));
    if (claim && claim.metadata?.uid === ref.uid) return !!claim.spec?.volumeName && claim.spec.volumeName !== volume.metadata?.name;
    return true;
  }

  private async reclaimVolume(volume: PersistentVolume): Promise<void> {
    switch (volume.spec?.persistentVolumeReclaimPolicy) {
      case 'Retain':
        return;
      case 'Recycle':
        await this.updateVolumePhaseWithEvent(volume, 'Failed', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
        return;
      case 'Delete':
        return this.deleteVolumeOperation(volume);
      default:
        await this.updateVolumePhaseWithEvent(volume, 'Failed', 'VolumeUnknownReclaimPolicy', 'Volume has unrecognized PersistentVolumeReclaimPolicy');
    }
  }

  private async deleteVolumeOperation(volume: PersistentVolume): Promise<void> {
    let current: PersistentVolume;
    try {
      current = await this.pvClient.get(volume.metadata!.name!);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (current.metadata?.deletionTimestamp) return;
    if (!this.isVolumeReleased(current)) return;
    const provisionedBy = current.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
    // an external provisioner deletes what it provisioned (the storage first, then the object)
    if (provisionedBy && !provisionedBy.startsWith('kubernetes.io/')) return;
    try {
      await this.pvClient.delete(current.metadata!.name!, { preconditions: { uid: current.metadata?.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The default class, newest first when several claim to be (upstream GetDefaultClass). */
export function defaultClass(classes: readonly StorageClass[]): StorageClass | undefined {
  const defaults = classes.filter(isDefaultStorageClass);
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
    if (ta !== tb) return tb - ta;
    return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
  });
  return defaults[0];
}

export const persistentVolumeBinderController: ControllerFactory = (ctx) => new PersistentVolumeBinderController(ctx);

/** The binder with options (tests shorten the resync). */
export const newPersistentVolumeBinderController =
  (opts: PersistentVolumeBinderOptions): ControllerFactory =>
  (ctx) =>
    new PersistentVolumeBinderController(ctx, opts);
