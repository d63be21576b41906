// The StatefulSet controller (upstream pkg/controller/statefulset): pods with stable names
// `<set>-<ordinal>` and claims `<template>-<set>-<ordinal>`, created in order (OrderedReady) or all at
// once (Parallel), scaled down from the highest ordinal, rolled to the update revision in reverse
// ordinal order above the partition, with ControllerRevisions as history.
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { labelsMatch, selectorFromLabelSelector, type LabelRequirement } from '../../api/labels.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, NAMESPACE_INDEX, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import { ClockDelays } from '../delayed.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { claimObjects, controllerRefOf, newControllerRef } from '../replicaset/controller-ref.js';
import { podAvailableAt } from '../replicaset/pods.js';
import {
  createControllerRevision,
  findEqualRevisions,
  newControllerRevision,
  nextRevision,
  equalRevision,
  sortRevisions,
  templateOfRevision,
  templatePatch,
  updateRevisionNumber,
} from './history.js';
import {
  completeRollingUpdate,
  getOrdinal,
  getPodRevision,
  identityMatches,
  isCreated,
  isFailed,
  isHealthy,
  isMemberOf,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  newStatefulSetPod,
  persistentVolumeClaims,
  replicaStatus,
  replicasOf,
  setIdentity,
  startOrdinal,
  statusDiffers,
  storageMatches,
} from './pods.js';

const COMPONENT = 'statefulset-controller';
const POD_CONTROLLER_INDEX = 'statefulset-controller/pod-controller-uid';
const REVISION_CONTROLLER_INDEX = 'statefulset-controller/revision-controller-uid';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const clone = <T>(v: T): T => structuredClone(v);
const byUID = (obj: { metadata?: { ownerReferences?: OwnerReference[] } }): string[] => {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
  return ref?.uid ? [ref.uid] : [];
};

function selectorOf(set: StatefulSet): LabelRequirement[] | undefined {
  try {
    const sel = set.spec?.selector;
    if (!sel) return undefined;
    const reqs = selectorFromLabelSelector(sel);
    return reqs.length ? reqs : undefined;
  } catch {
    return undefined;
  }
}

/** The set with its template replaced by the revision's (upstream ApplyRevision). */
function applyRevision(set: StatefulSet, revision: ControllerRevision): StatefulSet {
  const template = templateOfRevision(revision);
  if (!template) return set;
  return { ...set, spec: { ...set.spec!, template } };
}

export interface StatefulSetControllerOptions {
  /** sets synced in parallel (upstream --concurrent-statefulset-syncs, default 5) */
  workers?: number;
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  readonly queue = new WorkQueue({ name: 'statefulset' });
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: StatefulSetControllerOptions = {},
  ) {
    this.recorder = ctx.recorder(COMPONENT);
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.sets = ctx.informers.informer<StatefulSet>(RESOURCES.statefulsets);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.revisions = ctx.informers.informer<ControllerRevision>(RESOURCES.controllerrevisions);
    this.claims = ctx.informers.informer<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims);
    this.pods.addIndexer(POD_CONTROLLER_INDEX, byUID);
    this.revisions.addIndexer(REVISION_CONTROLLER_INDEX, byUID);
    this.sets.addEventHandler({
      onAdd: (s) => this.enqueue(s),
      onUpdate: (_old, cur) => this.enqueue(cur),
      onDelete: (s) => this.enqueue(s),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.onOwned(p, 'Pod'),
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        if (controllerRefOf(old)?.uid !== controllerRefOf(cur)?.uid) this.onOwned(old, 'Pod');
        this.onOwned(cur, 'Pod');
        const set = this.ownerOf(cur);
        const minReady = set?.spec?.minReadySeconds ?? 0;
        if (set && minReady > 0) {
          const at = podAvailableAt(cur, minReady);
          if (at !== undefined) this.delayed.addAfter(metaNamespaceKey(set), at - this.ctx.clock.now());
        }
      },
      onDelete: (p) => this.onOwned(p, 'Pod'),
    });
    this.revisions.addEventHandler({
      onAdd: (r) => this.onOwned(r, 'ControllerRevision'),
      onUpdate: (_old, cur) => this.onOwned(cur, 'ControllerRevision'),
      onDelete: (r) => this.onOwned(r, 'ControllerRevision'),
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, this.opts.workers ?? 5, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delayed.stop();
    this.queue.shutDown();
    await this.workers;
  }

  private enqueue(set: StatefulSet): void {
    this.queue.add(metaNamespaceKey(set));
  }

  private ownerOf(obj: Pod | ControllerRevision): StatefulSet | undefined {
    const ref = controllerRefOf(obj);
    if (!ref || ref.kind !== 'StatefulSet') return undefined;
    const set = this.sets.getByName(obj.metadata?.namespace, ref.name);
    return set?.metadata?.uid === ref.uid ? set : undefined;
  }

  /** An owned pod or revision changed: sync its set; an orphan: sync every set that may adopt it. */
  private onOwned(obj: Pod | ControllerRevision, kind: 'Pod' | 'ControllerRevision'): void {
    if (controllerRefOf(obj)) {
      const set = this.ownerOf(obj);
      if (set) this.enqueue(set);
      return;
    }
    if (obj.metadata?.deletionTimestamp) return;
    for (const set of this.sets.byIndex(NAMESPACE_INDEX, obj.metadata?.namespace ?? '')) {
      const reqs = selectorOf(set);
      if (!reqs || !labelsMatch(reqs, obj.metadata?.labels)) continue;
      if (kind === 'Pod' && !isMemberOf(set, obj as Pod)) continue;
      this.enqueue(set);
    }
  }

  private podClient = (ns: string) => this.ctx.client.resource<Pod>(RESOURCES.pods, ns);
  private claimClient = (ns: string) => this.ctx.client.resource<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims, ns);
  private revisionClient = (ns: string) => this.ctx.client.resource<ControllerRevision>(RESOURCES.controllerrevisions, ns);
  private setClient = (ns: string) => this.ctx.client.resource<StatefulSet>(RESOURCES.statefulsets, ns);

  /** One pass over the StatefulSet `key` (upstream sync + syncStatefulSet). */
  async sync(key: string): Promise<void> {
    const cached = this.sets.get(key);
    if (!cached) return;
    const set = clone(cached);
    const { namespace = '' } = splitMetaNamespaceKey(key);
    const reqs = selectorOf(set);
    if (!reqs) {
      // an empty or invalid selector matches nothing: nothing to manage
      return;
    }
    const ref = newControllerRef(set, 'apps/v1', 'StatefulSet');
    const canAdopt = async () => {
      const fresh = await this.setClient(namespace).get(set.metadata!.name!);
      if (fresh.metadata?.uid !== set.metadata?.uid) throw new Error(`original StatefulSet ${key} is gone: got uid ${fresh.metadata?.uid}, wanted ${set.metadata?.uid}`);
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${key} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    };
    const nsPods = this.pods.byIndex(NAMESPACE_INDEX, namespace);
    const pods = await claimObjects(nsPods, {
      owner: set as StatefulSet & { metadata: NonNullable<StatefulSet['metadata']> },
      ownerRef: ref,
      client: this.podClient(namespace),
      match: (p) => labelsMatch(reqs, p.metadata?.labels) && isMemberOf(set, p),
      canAdopt,
    });
    const nsRevisions = this.revisions.byIndex(NAMESPACE_INDEX, namespace);
    const revisions = sortRevisions(
      await claimObjects(nsRevisions, {
        owner: set as StatefulSet & { metadata: NonNullable<StatefulSet['metadata']> },
        ownerRef: ref,
        client: this.revisionClient(namespace),
        match: (r) => labelsMatch(reqs, r.metadata?.labels),
        canAdopt,
      }),
    );
    const { current, update, collisionCount } = await this.getRevisions(set, revisions);
    const status = await this.updateStatefulSet(set, current, update, collisionCount, pods);
    await this.updateStatus(set, status);
    await this.truncateHistory(set, pods, revisions, current, update);
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && (status.readyReplicas ?? 0) !== (status.availableReplicas ?? 0)) this.delayed.addAfter(key, minReady * 1000);
  }

  /** The current and update revisions, creating or renumbering the update one (upstream getStatefulSetRevisions). */
  private async getRevisions(
    set: StatefulSet,
    revisions: ControllerRevision[],
  ): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    const collision = { count: set.status?.collisionCount ?? 0 };
    const client = this.revisionClient(set.metadata!.namespace!);
    const candidate = newControllerRevision(
      set,
      newControllerRef(set, 'apps/v1', 'StatefulSet'),
      set.spec?.template?.metadata?.labels,
      templatePatch(set.spec?.template),
      nextRevision(revisions),
      collision.count,
    );
    if (set.metadata?.annotations) candidate.metadata!.annotations = { ...set.metadata.annotations };
    const equal = findEqualRevisions(revisions, candidate);
    let update: ControllerRevision;
    const last = revisions[revisions.length - 1];
    if (equal.length && equalRevision(last, equal[equal.length - 1])) update = last;
    else if (equal.length) update = await updateRevisionNumber(client, equal[equal.length - 1], candidate.revision);
    else update = await createControllerRevision(client, set, candidate, collision);
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount: collision.count };
  }

  /** Creates, deletes and replaces pods toward the spec; returns the status it leaves (upstream updateStatefulSet). */
  private async updateStatefulSet(
    set: StatefulSet,
    currentRevision: ControllerRevision,
    updateRevision: ControllerRevision,
    collisionCount: number,
    pods: Pod[],
  ): Promise<StatefulSetStatus> {
    const now = this.ctx.clock.now();
    const currentSet = applyRevision(set, currentRevision);
    const updateSet = applyRevision(set, updateRevision);
    const currentName = currentRevision.metadata!.name!;
    const updateName = updateRevision.metadata!.name!;
    const minReady = set.spec?.minReadySeconds ?? 0;
    const status: StatefulSetStatus = {
      ...replicaStatus(pods, minReady, currentName, updateName, now),
      observedGeneration: set.metadata?.generation,
      currentRevision: currentName,
      updateRevision: updateName,
      collisionCount,
    };
    const replicaCount = replicasOf(set);
    const start = startOrdinal(set);
    const replicas: Pod[] = new Array(replicaCount);
    const condemned: Pod[] = [];
    for (const pod of pods) {
      const ord = getOrdinal(pod);
      if (ord < 0) continue;
      if (ord >= start && ord < start + replicaCount) replicas[ord - start] = pod;
      else condemned.push(pod);
    }
    const ref = newControllerRef(set, 'apps/v1', 'StatefulSet');
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const isRolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    /** upstream newVersionedStatefulSetPod: ordinals below the partition (or the current count) keep the current revision */
    const versionedPod = (ordinal: number): Pod => {
      const index = ordinal - start;
      const keepCurrent = isRolling && (set.spec?.updateStrategy?.rollingUpdate ? index < partition : index < (set.status?.currentReplicas ?? 0));
      return keepCurrent ? newStatefulSetPod(currentSet, ordinal, currentName, ref) : newStatefulSetPod(updateSet, ordinal, updateName, ref);
    };
    for (let i = 0; i < replicaCount; i++) if (!replicas[i]) replicas[i] = versionedPod(start + i);
    condemned.sort((a, b) => getOrdinal(b) - getOrdinal(a));
    if (set.metadata?.deletionTimestamp) return status;

    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const firstUnhealthy = [...replicas, ...condemned].find((p) => !isHealthy(p, minReady, now));
    const countRevision = (pod: Pod, delta: number) => {
      const rev = getPodRevision(pod);
      if (rev === currentName) status.currentReplicas = (status.currentReplicas ?? 0) + delta;
      if (rev === updateName) status.updatedReplicas = (status.updatedReplicas ?? 0) + delta;
    };

    for (let i = 0; i < replicaCount; i++) {
      let pod = replicas[i];
      if (isCreated(pod) && (isFailed(pod) || isSucceeded(pod)) && !isTerminating(pod)) {
        this.recorder.event(set, 'Warning', 'RecreatingFailedPod', `StatefulSet ${set.metadata!.namespace}/${set.metadata!.name} is recreating ${isFailed(pod) ? 'failed' : 'terminated'} Pod ${pod.metadata!.name}`);
        await this.deletePod(set, pod);
        status.replicas = (status.replicas ?? 1) - 1;
        countRevision(pod, -1);
        if (monotonic) return status;
        replicas[i] = pod = versionedPod(start + i);
        continue;
      }
      if (!isCreated(pod)) {
        const created = await this.createPod(set, pod);
        if (created) {
          status.replicas = (status.replicas ?? 0) + 1;
          countRevision(pod, 1);
        }
        if (monotonic) return status;
        continue;
      }
      if (isTerminating(pod)) {
        if (monotonic) return status;
        continue;
      }
      if (!isRunningAndReady(pod) && monotonic) return status;
      if (!isRunningAndAvailable(pod, minReady, now) && monotonic) return status;
      if (identityMatches(set, pod) && storageMatches(set, pod)) continue;
      await this.updatePodIdentity(set, pod);
    }

    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return status;
        continue;
      }
      if (!isRunningAndReady(pod) && monotonic && pod !== firstUnhealthy) return status;
      if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') await this.handOverClaimsToPod(set, pod);
      await this.deletePod(set, pod);
      if (monotonic) return status;
    }

    if (!isRolling) return status;
    for (let target = replicaCount - 1; target >= partition; target--) {
      const pod = replicas[target];
      if (getPodRevision(pod) !== updateName && !isTerminating(pod)) {
        await this.deletePod(set, pod);
        if (getPodRevision(pod) === currentName) status.currentReplicas = Math.max(0, (status.currentReplicas ?? 0) - 1);
        return status;
      }
      if (!isHealthy(pod, minReady, now)) return status;
    }
    return status;
  }

  /** Creates the pod's missing claims, then the pod; false when it already exists (a stale cache). */
  private async createPod(set: StatefulSet, pod: Pod): Promise<boolean> {
    const ns = set.metadata!.namespace!;
    await this.createMissingClaims(set, pod);
    try {
      await this.podClient(ns).create(pod);
    } catch (e) {
      if (isAlreadyExists(e)) return false;
      this.recorder.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} failed error: ${errText(e)}`);
      throw e;
    }
    this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} successful`);
    return true;
  }

  private async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    const ns = set.metadata!.namespace!;
    try {
      await this.podClient(ns).delete(pod.metadata!.name!, { preconditions: { uid: pod.metadata?.uid } });
    } catch (e) {
      // gone already, or replaced by a newer pod of the same name: the next sync sees which
      if (isNotFound(e) || isConflict(e)) return;
      this.recorder.event(set, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} failed error: ${errText(e)}`);
      throw e;
    }
    this.recorder.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} successful`);
  }

  /** upstream createPersistentVolumeClaims: every claim of the pod's ordinal that does not exist yet. */
  private async createMissingClaims(set: StatefulSet, pod: Pod): Promise<void> {
    const ns = set.metadata!.namespace!;
    const whenDeleted = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain';
    for (const claim of persistentVolumeClaims(set, getOrdinal(pod)).values()) {
      const name = claim.metadata!.name!;
      const existing = this.claims.getByName(ns, name);
      if (existing) {
        if (existing.metadata?.deletionTimestamp) throw new Error(`pvc ${name} is being deleted`);
        continue;
      }
      if (whenDeleted === 'Delete') claim.metadata!.ownerReferences = [newControllerRef(set, 'apps/v1', 'StatefulSet')];
      try {
        await this.claimClient(ns).create(claim);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.recorder.event(set, 'Warning', 'FailedCreate', `create Claim ${name} for Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} failed error: ${errText(e)}`);
        throw e;
      }
      this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${name} Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} success`);
    }
  }

  /** whenScaled: Delete: the condemned pod owns its claims, so they go with it (the garbage collector deletes them). */
  private async handOverClaimsToPod(set: StatefulSet, pod: Pod): Promise<void> {
    const ns = set.metadata!.namespace!;
    const podRef: OwnerReference = newControllerRef(pod, 'v1', 'Pod');
    for (const claim of persistentVolumeClaims(set, getOrdinal(pod)).values()) {
      const existing = this.claims.getByName(ns, claim.metadata!.name!);
      if (!existing || existing.metadata?.ownerReferences?.some((r) => r.uid === podRef.uid)) continue;
      const others = (existing.metadata?.ownerReferences ?? []).filter((r) => !(r.kind === 'StatefulSet' && r.uid === set.metadata?.uid));
      try {
        await this.claimClient(ns).patch(existing.metadata!.name!, 'merge', { metadata: { ownerReferences: [...others, podRef], resourceVersion: existing.metadata?.resourceVersion } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /**
   * Restores the identity labels of a pod that lost them and creates its missing claims (upstream
   * updateStatefulPod); hostname and volumes are immutable in a pod spec, so they stay as they are.
   */
  private async updatePodIdentity(set: StatefulSet, pod: Pod): Promise<void> {
    await this.createMissingClaims(set, pod);
    if (identityMatches(set, pod)) return;
    const next = clone(pod);
    setIdentity(set, next);
    try {
      await this.podClient(set.metadata!.namespace!).patch(pod.metadata!.name!, 'merge', {
        metadata: { labels: next.metadata?.labels, resourceVersion: pod.metadata?.resourceVersion },
      });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return;
      this.recorder.event(set, 'Warning', 'FailedUpdate', `update Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} failed error: ${errText(e)}`);
      throw e;
    }
    this.recorder.event(set, 'Normal', 'SuccessfulUpdate', `update Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} successful`);
  }

  /** Writes the status when it changed (upstream updateStatefulSetStatus), retrying a conflict once. */
  private async updateStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    completeRollingUpdate(set, status);
    if (!statusDiffers(set.status, status)) return;
    const client = this.setClient(set.metadata!.namespace!);
    let target = set;
    for (let i = 0; ; i++) {
      try {
        await client.updateStatus({ ...target, apiVersion: 'apps/v1', kind: 'StatefulSet', status });
        return;
      } catch (e) {
        if (i >= 1 || !isConflict(e)) throw e;
      }
      target = await client.get(set.metadata!.name!);
    }
  }

  /** Deletes the oldest revisions beyond revisionHistoryLimit that no pod uses (upstream truncateHistory). */
  private async truncateHistory(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const live = new Set([current.metadata?.name, update.metadata?.name, ...pods.map(getPodRevision)]);
    const history = revisions.filter((r) => !live.has(r.metadata?.name));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    const client = this.revisionClient(set.metadata!.namespace!);
    for (const r of history.slice(0, Math.max(0, history.length - limit))) {
      try {
        await client.delete(r.metadata!.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

/** The factory the controller manager wires in. */
export const statefulSetController: ControllerFactory = (ctx) => new StatefulSetController(ctx);
