// The Deployment controller (upstream pkg/controller/deployment): one ReplicaSet per pod template
// (`<deployment>-<pod-template-hash>`), rolled over by the RollingUpdate or Recreate strategy, with
// revisions, proportional scaling, pausing, history cleanup and the Progressing / Available conditions.
import { ClockDelays } from '../delayed.js';
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { labelsMatch, selectorFromLabelSelector, type LabelRequirement } from '../../api/labels.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, NAMESPACE_INDEX, metaNamespaceKey } from '../../client/informer.js';
import { ClientStatusError, isAlreadyExists, isNotFound, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { claimObjects, controllerRefOf, newControllerRef } from '../replicaset/controller-ref.js';
import {
  availableReplicaCount,
  byCreationTimestamp,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  calculateStatus,
  computeHash,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  filterActive,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  getDeploymentCondition,
  hasProgressDeadline,
  isRollingUpdate,
  isSaturated,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newDeploymentCondition,
  newRSNewReplicas,
  POD_TEMPLATE_HASH_LABEL,
  Reason,
  REVISION_ANNOTATION,
  removeDeploymentCondition,
  replicaCount,
  replicaSetProportion,
  replicaSetToDeploymentCondition,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  rsReplicas,
  sameStatus,
  setDeploymentCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  actualReplicaCount,
} from './util.js';

const RS_CONTROLLER_INDEX = 'deployment-controller/rs-controller-uid';
const POD_CONTROLLER_INDEX = 'deployment-controller/pod-controller-uid';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const clone = <T>(v: T): T => structuredClone(v);
const uidOf = (o: { metadata?: { uid?: string } } | undefined) => o?.metadata?.uid ?? '';

function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof ClientStatusError && (e.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

/** upstream CloneSelectorAndAddLabel */
function selectorWithLabel(sel: LabelSelector | undefined, key: string, value: string): LabelSelector {
  const out: LabelSelector = { matchLabels: { ...(sel?.matchLabels ?? {}), [key]: value } };
  if (sel?.matchExpressions?.length) out.matchExpressions = clone(sel.matchExpressions);
  return out;
}

function deploymentSelector(d: Deployment): LabelRequirement[] | undefined {
  const sel = d.spec?.selector;
  if (!sel) return undefined;
  const reqs = selectorFromLabelSelector(sel);
  return reqs.length ? reqs : undefined;
}

/** What one sync works on: the Deployment and its ReplicaSets, kept current as the sync writes them. */
interface SyncState {
  d: Deployment;
  rsList: ReplicaSet[];
}

export interface DeploymentControllerOptions {
  /** Deployments synced in parallel (upstream --concurrent-deployment-syncs, default 5) */
  workers?: number;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  readonly queue = new WorkQueue({ name: 'deployment' });
  private readonly deployments: Informer<Deployment>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  private workers?: Promise<void>;
  private warnedAnnotationFallback = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: DeploymentControllerOptions = {},
  ) {
    this.recorder = ctx.recorder('deployment-controller');
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.deployments = ctx.informers.informer<Deployment>(RESOURCES.deployments);
    this.replicaSets = ctx.informers.informer<ReplicaSet>(RESOURCES.replicasets);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.replicaSets.addIndexer(RS_CONTROLLER_INDEX, (rs) => {
      const ref = controllerRefOf(rs);
      return ref?.uid ? [ref.uid] : [];
    });
    this.pods.addIndexer(POD_CONTROLLER_INDEX, (p) => {
      const ref = controllerRefOf(p);
      return ref?.uid ? [ref.uid] : [];
    });
    this.deployments.addEventHandler({
      onAdd: (d) => this.enqueue(d),
      onUpdate: (_old, d) => this.enqueue(d),
      onDelete: (d) => this.enqueue(d),
    });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.onReplicaSetAdd(rs),
      onUpdate: (old, cur) => this.onReplicaSetUpdate(old, cur),
      onDelete: (rs) => this.onReplicaSetDelete(rs),
    });
    this.pods.addEventHandler({ onDelete: (p) => this.onPodDelete(p) });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, this.opts.workers ?? 5, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delayed.stop();
    this.queue.shutDown();
    await this.workers;
  }

  // ---- event handlers: they only enqueue ----

  private enqueue(d: Deployment): void {
    this.queue.add(metaNamespaceKey(d));
  }


  private resolveControllerRef(namespace: string | undefined, obj: ReplicaSet): Deployment | undefined {
    const ref = controllerRefOf(obj);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.deployments.getByName(namespace, ref.name);
    return d?.metadata?.uid === ref.uid ? d : undefined;
  }

  /** Deployments in the ReplicaSet's namespace whose selector matches it (orphan adoption). */
  private deploymentsForReplicaSet(rs: ReplicaSet): Deployment[] {
    return this.deployments.byIndex(NAMESPACE_INDEX, rs.metadata?.namespace ?? '').filter((d) => {
      try {
        const reqs = deploymentSelector(d);
        return !!reqs && labelsMatch(reqs, rs.metadata?.labels);
      } catch {
        return false;
      }
    });
  }

  private onReplicaSetAdd(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp) {
      this.onReplicaSetDelete(rs);
      return;
    }
    if (controllerRefOf(rs)) {
      const d = this.resolveControllerRef(rs.metadata?.namespace, rs);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.deploymentsForReplicaSet(rs)) this.enqueue(d);
  }

  private onReplicaSetUpdate(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const d = this.resolveControllerRef(old.metadata?.namespace, old);
      if (d) this.enqueue(d);
    }
    if (curRef) {
      const d = this.resolveControllerRef(cur.metadata?.namespace, cur);
      if (d) this.enqueue(d);
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsForReplicaSet(cur)) this.enqueue(d);
  }

  private onReplicaSetDelete(rs: ReplicaSet): void {
    const d = this.resolveControllerRef(rs.metadata?.namespace, rs);
    if (d) this.enqueue(d);
  }

  /** A Recreate rollout waits for the old pods to be gone: the last one going away wakes it. */
  private onPodDelete(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.getByName(pod.metadata?.namespace, ref.name);
    if (!rs || rs.metadata?.uid !== ref.uid) return;
    const d = this.resolveControllerRef(rs.metadata?.namespace, rs);
    if (!d || d.spec?.strategy?.type !== 'Recreate') return;
    const left = this.replicaSets.byIndex(RS_CONTROLLER_INDEX, uidOf(d)).some((r) => this.pods.byIndex(POD_CONTROLLER_INDEX, uidOf(r)).length > 0);
    if (!left) this.enqueue(d);
  }

  // ---- clients and writes ----

  private rsClient(namespace: string): ResourceClient<ReplicaSet> {
    return this.ctx.client.resource<ReplicaSet>(RESOURCES.replicasets, namespace);
  }

  private deploymentClient(namespace: string): ResourceClient<Deployment> {
    return this.ctx.client.resource<Deployment>(RESOURCES.deployments, namespace);
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  /** Replaces (or adds) a ReplicaSet the sync just wrote, so later steps see what the server has. */
  private put(s: SyncState, rs: ReplicaSet): ReplicaSet {
    const i = s.rsList.findIndex((r) => uidOf(r) === uidOf(rs));
    if (i >= 0) s.rsList[i] = rs;
    else s.rsList.push(rs);
    return rs;
  }

  /**
   * Writes the Deployment's status (and, as upstream's status strategy allows, its revision
   * annotation). When the server keeps annotations out of status writes, the annotation goes in a
   * metadata patch instead.
   */
  private async updateDeploymentStatus(s: SyncState): Promise<void> {
    const d = s.d;
    const wantRevision = d.metadata?.annotations?.[REVISION_ANNOTATION];
    const client = this.deploymentClient(d.metadata!.namespace!);
    const updated = await client.updateStatus({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' });
    s.d = { ...updated, apiVersion: 'apps/v1', kind: 'Deployment' };
    if (wantRevision !== undefined && updated.metadata?.annotations?.[REVISION_ANNOTATION] !== wantRevision) {
      if (!this.warnedAnnotationFallback) {
        this.warnedAnnotationFallback = true;
        this.ctx.log('deployment controller: the server ignores annotations in deployments/status writes; patching the revision annotation instead');
      }
      const patched = await client.patch(d.metadata!.name!, 'merge', {
        metadata: { annotations: { [REVISION_ANNOTATION]: wantRevision }, resourceVersion: updated.metadata?.resourceVersion },
      });
      s.d = { ...patched, apiVersion: 'apps/v1', kind: 'Deployment' };
    }
  }

  // ---- the sync ----

  /** One pass over the Deployment `key` (upstream syncDeployment). */
  async sync(key: string): Promise<void> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    const d: Deployment = { ...clone(cached), apiVersion: 'apps/v1', kind: 'Deployment' };
    const sel = d.spec?.selector;
    if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        d.status = { ...(d.status ?? {}), observedGeneration: d.metadata?.generation };
        await this.deploymentClient(d.metadata!.namespace!).updateStatus(d);
      }
      return;
    }
    let reqs: LabelRequirement[] | undefined;
    try {
      reqs = deploymentSelector(d);
    } catch (e) {
      this.ctx.log(`deployment ${key}: invalid label selector: ${errText(e)}`);
      return;
    }
    const s: SyncState = { d, rsList: await this.replicaSetsForDeployment(d, reqs!) };

    if (d.metadata?.deletionTimestamp) return this.syncStatusOnly(s);
    await this.checkPausedConditions(s);
    if (s.d.spec?.paused) return this.syncScale(s);
    if (await this.isScalingEvent(s)) return this.syncScale(s);
    if (s.d.spec?.strategy?.type === 'Recreate') return this.rolloutRecreate(s, reqs!);
    if (isRollingUpdate(s.d)) return this.rolloutRolling(s);
    throw new Error(`unexpected deployment strategy type: ${s.d.spec?.strategy?.type}`);
  }

  /** The Deployment's ReplicaSets, adopting matching orphans and releasing ones that stopped matching. */
  private async replicaSetsForDeployment(d: Deployment, reqs: LabelRequirement[]): Promise<ReplicaSet[]> {
    const namespace = d.metadata!.namespace!;
    const claimed = await claimObjects(this.replicaSets.byIndex(NAMESPACE_INDEX, namespace), {
      owner: d as Deployment & { metadata: NonNullable<Deployment['metadata']> },
      ownerRef: newControllerRef(d, 'apps/v1', 'Deployment'),
      client: this.rsClient(namespace),
      match: (rs) => labelsMatch(reqs, rs.metadata?.labels),
      canAdopt: async () => {
        const fresh = await this.deploymentClient(namespace).get(d.metadata!.name!);
        if (fresh.metadata?.uid !== d.metadata?.uid)
          throw new Error(`original Deployment ${namespace}/${d.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${d.metadata?.uid}`);
        if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespace}/${d.metadata?.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
    return claimed.map((rs) => clone(rs));
  }

  /** Pods of the Deployment's ReplicaSets, by ReplicaSet UID, terminal and terminating ones included. */
  private podMap(s: SyncState, reqs: LabelRequirement[]): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>();
    for (const rs of s.rsList) out.set(uidOf(rs), this.pods.byIndex(POD_CONTROLLER_INDEX, uidOf(rs)).filter((p) => labelsMatch(reqs, p.metadata?.labels)));
    return out;
  }

  private async checkPausedConditions(s: SyncState): Promise<void> {
    const d = s.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getDeploymentCondition(d.status, 'Progressing');
    // a reported lack of progress is not overwritten by pausing
    if (cond?.reason === Reason.TimedOut) return;
    const pausedCondExists = cond?.reason === Reason.Paused;
    const status: DeploymentStatus = d.status ?? {};
    if (d.spec?.paused && !pausedCondExists) {
      setDeploymentCondition(status, newDeploymentCondition('Progressing', 'Unknown', Reason.Paused, 'Deployment is paused', this.now()));
    } else if (!d.spec?.paused && pausedCondExists) {
      setDeploymentCondition(status, newDeploymentCondition('Progressing', 'Unknown', Reason.Resumed, 'Deployment is resumed', this.now()));
    } else {
      return;
    }
    d.status = status;
    await this.updateDeploymentStatus(s);
  }

  /**
   * The new ReplicaSet (created when asked and missing) and the old ones, with the new one's
   * revision raised above the old ones' and copied to the Deployment.
   */
  private async getAllReplicaSetsAndSyncRevision(s: SyncState, createIfNotExisted: boolean): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
    const oldRSs = findOldReplicaSets(s.d, s.rsList);
    const newRS = await this.getNewReplicaSet(s, oldRSs, createIfNotExisted);
    return { newRS, oldRSs: newRS ? s.rsList.filter((rs) => uidOf(rs) !== uidOf(newRS)) : oldRSs };
  }

  private async getNewReplicaSet(s: SyncState, oldRSs: ReplicaSet[], createIfNotExisted: boolean): Promise<ReplicaSet | undefined> {
    const existing = findNewReplicaSet(s.d, s.rsList);
    const newRevision = String(maxRevision(oldRSs) + 1);

    if (existing) {
      const rsCopy = clone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(s.d, rsCopy, newRevision, true);
      const minReadyNeedsUpdate = (rsCopy.spec?.minReadySeconds ?? 0) !== (s.d.spec?.minReadySeconds ?? 0);
      if (annotationsUpdated || minReadyNeedsUpdate) {
        if (s.d.spec?.minReadySeconds) rsCopy.spec!.minReadySeconds = s.d.spec.minReadySeconds;
        else delete rsCopy.spec!.minReadySeconds;
        return this.put(s, await this.rsClient(rsCopy.metadata!.namespace!).update({ ...rsCopy, apiVersion: 'apps/v1', kind: 'ReplicaSet' }));
      }
      let needsUpdate = setDeploymentRevision(s.d, rsCopy.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
      if (hasProgressDeadline(s.d) && !getDeploymentCondition(s.d.status, 'Progressing')) {
        const status = (s.d.status ??= {});
        setDeploymentCondition(status, newDeploymentCondition('Progressing', 'True', Reason.FoundNewReplicaSet, `Found new replica set "${rsCopy.metadata?.name}"`, this.now()));
        needsUpdate = true;
      }
      if (needsUpdate) await this.updateDeploymentStatus(s);
      return rsCopy;
    }
    if (!createIfNotExisted) return undefined;

    const d = s.d;
    const namespace = d.metadata!.namespace!;
    const hash = computeHash(d.spec?.template, d.status?.collisionCount ?? undefined);
    const template = clone(d.spec?.template ?? {});
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
    const newRS: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace,
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
        labels: { ...template.metadata.labels },
      },
      spec: { replicas: 0, ...(d.spec?.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}), selector: selectorWithLabel(d.spec?.selector, POD_TEMPLATE_HASH_LABEL, hash), template },
    };
    const newReplicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec!.replicas = newReplicas;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let createdRS: ReplicaSet;
    let alreadyExists = false;
    try {
      createdRS = await this.rsClient(namespace).create(newRS);
    } catch (e) {
      if (isAlreadyExists(e)) {
        alreadyExists = true;
        const found = this.replicaSets.getByName(namespace, newRS.metadata!.name!) ?? (await this.rsClient(namespace).get(newRS.metadata!.name!));
        const ref = controllerRefOf(found);
        if (ref?.uid === uidOf(d) && equalIgnoreHash(d.spec?.template, found.spec?.template)) {
          createdRS = clone(found);
        } else {
          // a different template hashed to the same name: salt the hash and try again next time
          const status = (d.status ??= {});
          const before = status.collisionCount ?? 0;
          status.collisionCount = before + 1;
          try {
            await this.updateDeploymentStatus(s);
            this.ctx.log(`deployment ${namespace}/${d.metadata?.name}: hash collision, collisionCount ${before} -> ${before + 1}`);
          } catch {
            // the original error is what gets retried
          }
          throw e;
        }
      } else {
        if (isNamespaceTerminating(e)) throw e;
        const msg = `Failed to create new replica set "${newRS.metadata!.name}": ${errText(e)}`;
        if (hasProgressDeadline(d)) {
          setDeploymentCondition((d.status ??= {}), newDeploymentCondition('Progressing', 'False', Reason.FailedReplicaSetCreate, msg, this.now()));
          await this.updateDeploymentStatus(s).catch(() => undefined);
        }
        this.recorder.event(s.d, 'Warning', Reason.FailedReplicaSetCreate, msg);
        throw e;
      }
    }
    this.put(s, createdRS);
    if (!alreadyExists && newReplicas > 0)
      this.recorder.event(s.d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${createdRS.metadata?.name} from 0 to ${newReplicas}`);

    let needsUpdate = setDeploymentRevision(s.d, newRevision);
    if (!alreadyExists && hasProgressDeadline(s.d)) {
      setDeploymentCondition((s.d.status ??= {}), newDeploymentCondition('Progressing', 'True', Reason.NewReplicaSet, `Created new replica set "${createdRS.metadata?.name}"`, this.now()));
      needsUpdate = true;
    }
    if (needsUpdate) await this.updateDeploymentStatus(s);
    return createdRS;
  }

  // ---- scaling (upstream sync.go) ----

  private async isScalingEvent(s: SyncState): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    for (const rs of filterActive([...oldRSs, newRS])) {
      const desired = desiredReplicasAnnotation(rs);
      if (desired === undefined) continue;
      if (desired !== replicasOf(s.d)) return true;
    }
    return false;
  }

  /** Scaling events and paused Deployments: resize, no rollout (upstream sync). */
  private async syncScale(s: SyncState): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.scale(s, newRS, oldRSs);
    const current = this.current(s, newRS);
    if (s.d.spec?.paused) await this.cleanupDeployment(s, current.oldRSs);
    await this.syncDeploymentStatus(s, [...current.oldRSs, current.newRS], current.newRS);
  }

  private async syncStatusOnly(s: SyncState): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
  }

  /** The new and old ReplicaSets as they are now in the sync's list. */
  private current(s: SyncState, newRS: ReplicaSet | undefined): { newRS?: ReplicaSet; oldRSs: ReplicaSet[] } {
    const fresh = newRS ? s.rsList.find((rs) => uidOf(rs) === uidOf(newRS)) : undefined;
    return { newRS: fresh, oldRSs: s.rsList.filter((rs) => !fresh || uidOf(rs) !== uidOf(fresh)) };
  }

  private async scale(s: SyncState, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const d = s.d;
    const replicas = replicasOf(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (rsReplicas(activeOrLatest) === replicas) return;
      await this.scaleReplicaSetAndRecordEvent(s, activeOrLatest, replicas);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of filterActive(oldRSs)) await this.scaleReplicaSetAndRecordEvent(s, old, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const allRSs = filterActive([...oldRSs, newRS]);
    const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowed - replicaCount(allRSs);
    let operation = '';
    if (toAdd > 0) {
      allRSs.sort(bySizeNewer);
      operation = 'up';
    } else if (toAdd < 0) {
      allRSs.sort(bySizeOlder);
      operation = 'down';
    }
    let added = 0;
    const sizes = new Map<string, number>();
    for (const rs of allRSs) {
      if (toAdd !== 0) {
        const proportion = replicaSetProportion(rs, d, toAdd, added);
        sizes.set(uidOf(rs), rsReplicas(rs) + proportion);
        added += proportion;
      } else {
        sizes.set(uidOf(rs), rsReplicas(rs));
      }
    }
    for (let i = 0; i < allRSs.length; i++) {
      const rs = allRSs[i];
      // leftovers go to the largest ReplicaSet
      if (i === 0 && toAdd !== 0) sizes.set(uidOf(rs), Math.max(0, sizes.get(uidOf(rs))! + toAdd - added));
      await this.scaleReplicaSet(s, rs, sizes.get(uidOf(rs))!, operation);
    }
  }

  private async scaleReplicaSetAndRecordEvent(s: SyncState, rs: ReplicaSet, newScale: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if (rsReplicas(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(s, rs, newScale, rsReplicas(rs) < newScale ? 'up' : 'down');
  }

  private async scaleReplicaSet(s: SyncState, rs: ReplicaSet, newScale: number, operation: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const d = s.d;
    const sizeNeedsUpdate = rsReplicas(rs) !== newScale;
    const max = replicasOf(d) + maxSurge(d);
    if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, replicasOf(d), max)) return { scaled: false, rs };
    const oldScale = rsReplicas(rs);
    const copy = clone(rs);
    copy.spec!.replicas = newScale;
    setReplicasAnnotations(copy, replicasOf(d), max);
    const updated = this.put(s, await this.rsClient(copy.metadata!.namespace!).update({ ...copy, apiVersion: 'apps/v1', kind: 'ReplicaSet' }));
    if (!sizeNeedsUpdate) return { scaled: false, rs: updated };
    const verb = operation === 'up' ? 'up' : 'down';
    this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${verb} replica set ${updated.metadata?.name} from ${oldScale} to ${newScale}`);
    return { scaled: true, rs: updated };
  }

  /** Deletes the oldest zero-sized ReplicaSets beyond revisionHistoryLimit. */
  private async cleanupDeployment(s: SyncState, oldRSs: ReplicaSet[]): Promise<void> {
    const limit = s.d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp).sort(byRevision);
    const diff = cleanable.length - limit;
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.rsClient(rs.metadata!.namespace!).delete(rs.metadata!.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      s.rsList = s.rsList.filter((r) => uidOf(r) !== uidOf(rs));
    }
  }

  private async syncDeploymentStatus(s: SyncState, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const status = calculateStatus(allRSs, newRS, s.d, this.now());
    if (sameStatus(s.d.status, status)) return;
    s.d.status = status;
    await this.updateDeploymentStatus(s);
  }

  // ---- RollingUpdate (upstream rolling.go) ----

  private async rolloutRolling(s: SyncState): Promise<void> {
    const first = await this.getAllReplicaSetsAndSyncRevision(s, true);
    const newRS = first.newRS!;
    if (await this.reconcileNewReplicaSet(s, [...first.oldRSs, newRS], newRS)) return this.syncRolloutStatusNow(s, newRS);
    const cur = this.current(s, newRS);
    if (await this.reconcileOldReplicaSets(s, [...cur.oldRSs, cur.newRS], filterActive(cur.oldRSs), cur.newRS!)) return this.syncRolloutStatusNow(s, newRS);
    const after = this.current(s, newRS);
    if (deploymentComplete(s.d, s.d.status ?? {})) await this.cleanupDeployment(s, after.oldRSs);
    return this.syncRolloutStatusNow(s, newRS);
  }

  private syncRolloutStatusNow(s: SyncState, newRS: ReplicaSet | undefined): Promise<void> {
    const cur = this.current(s, newRS);
    return this.syncRolloutStatus(s, [...cur.oldRSs, cur.newRS], cur.newRS);
  }

  private async reconcileNewReplicaSet(s: SyncState, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet): Promise<boolean> {
    const replicas = replicasOf(s.d);
    if (rsReplicas(newRS) === replicas) return false;
    if (rsReplicas(newRS) > replicas) return (await this.scaleReplicaSetAndRecordEvent(s, newRS, replicas)).scaled;
    return (await this.scaleReplicaSetAndRecordEvent(s, newRS, newRSNewReplicas(s.d, allRSs, newRS))).scaled;
  }

  private async reconcileOldReplicaSets(s: SyncState, allRSs: (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const d = s.d;
    if (replicaCount(oldRSs) === 0) return false;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newRSUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = replicaCount(allRSs) - minAvailable - newRSUnavailable;
    if (maxScaledDown <= 0) return false;
    // unhealthy replicas go first, so they cannot block the rollout
    const { oldRSs: cleaned, count: cleanupCount } = await this.cleanupUnhealthyReplicas(s, oldRSs, maxScaledDown);
    const scaledDown = await this.scaleDownOldReplicaSetsForRollingUpdate(s, [...cleaned, newRS], cleaned);
    return cleanupCount + scaledDown > 0;
  }

  private async cleanupUnhealthyReplicas(s: SyncState, oldRSs: ReplicaSet[], maxCleanup: number): Promise<{ oldRSs: ReplicaSet[]; count: number }> {
    const sorted = [...oldRSs].sort(byCreationTimestamp);
    let total = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (total >= maxCleanup) break;
      const rs = sorted[i];
      const available = rs.status?.availableReplicas ?? 0;
      if (rsReplicas(rs) === 0 || rsReplicas(rs) === available) continue;
      const count = Math.min(maxCleanup - total, rsReplicas(rs) - available);
      if (count < 0) throw new Error(`when cleaning up unhealthy replicas, got invalid request to scale down ${rs.metadata?.namespace}/${rs.metadata?.name} ${rsReplicas(rs)} -> ${rsReplicas(rs) - count}`);
      const { rs: updated } = await this.scaleReplicaSetAndRecordEvent(s, rs, rsReplicas(rs) - count);
      total += count;
      sorted[i] = updated;
    }
    return { oldRSs: sorted, count: total };
  }

  private async scaleDownOldReplicaSetsForRollingUpdate(s: SyncState, allRSs: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
    const d = s.d;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const available = availableReplicaCount(allRSs);
    if (available <= minAvailable) return 0;
    const sorted = [...oldRSs].sort(byCreationTimestamp);
    const target = available - minAvailable;
    let total = 0;
    for (const rs of sorted) {
      if (total >= target) break;
      if (rsReplicas(rs) === 0) continue;
      const count = Math.min(rsReplicas(rs), target - total);
      await this.scaleReplicaSetAndRecordEvent(s, rs, rsReplicas(rs) - count);
      total += count;
    }
    return total;
  }

  // ---- Recreate (upstream recreate.go) ----

  private async rolloutRecreate(s: SyncState, reqs: LabelRequirement[]): Promise<void> {
    // no new ReplicaSet before the old pods are gone
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    let scaledDown = false;
    for (const rs of filterActive(oldRSs)) if ((await this.scaleReplicaSetAndRecordEvent(s, rs, 0)).scaled) scaledDown = true;
    if (scaledDown) return this.syncRolloutStatusNow(s, newRS);
    if (this.oldPodsRunning(s, newRS, oldRSs, reqs)) return this.syncRolloutStatusNow(s, newRS);
    if (!newRS) ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true));
    await this.scaleReplicaSetAndRecordEvent(s, this.current(s, newRS).newRS ?? newRS!, replicasOf(s.d));
    const after = this.current(s, newRS);
    if (deploymentComplete(s.d, s.d.status ?? {})) await this.cleanupDeployment(s, after.oldRSs);
    return this.syncRolloutStatusNow(s, newRS);
  }

  private oldPodsRunning(s: SyncState, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], reqs: LabelRequirement[]): boolean {
    if (actualReplicaCount(oldRSs) > 0) return true;
    for (const [uid, pods] of this.podMap(s, reqs)) {
      if (newRS && uid === uidOf(newRS)) continue;
      // pods that finished no longer run; anything else (Unknown included) might
      if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
    }
    return false;
  }

  // ---- progress (upstream progress.go) ----

  private async syncRolloutStatus(s: SyncState, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const d = s.d;
    const now = this.now();
    const newStatus = calculateStatus(allRSs, newRS, d, now);
    if (!hasProgressDeadline(d)) removeDeploymentCondition(newStatus, 'Progressing');
    const currentCond = getDeploymentCondition(d.status, 'Progressing');
    const isCompleteDeployment = (newStatus.replicas ?? 0) === (newStatus.updatedReplicas ?? 0) && currentCond?.reason === Reason.NewReplicaSetAvailable;
    if (hasProgressDeadline(d) && !isCompleteDeployment) {
      const name = d.metadata?.name;
      const rsName = newRS?.metadata?.name;
      if (deploymentComplete(d, newStatus)) {
        const msg = newRS ? `ReplicaSet "${rsName}" has successfully progressed.` : `Deployment "${name}" has successfully progressed.`;
        setDeploymentCondition(newStatus, newDeploymentCondition('Progressing', 'True', Reason.NewReplicaSetAvailable, msg, now));
      } else if (deploymentProgressing(d, newStatus)) {
        const msg = newRS ? `ReplicaSet "${rsName}" is progressing.` : `Deployment "${name}" is progressing.`;
        const cond = newDeploymentCondition('Progressing', 'True', Reason.ReplicaSetUpdated, msg, now);
        // progress moves lastUpdateTime even when the reason stays the same
        if (currentCond) {
          if (currentCond.status === 'True') cond.lastTransitionTime = currentCond.lastTransitionTime;
          removeDeploymentCondition(newStatus, 'Progressing');
        }
        setDeploymentCondition(newStatus, cond);
      } else if (deploymentTimedOut(d, newStatus, now)) {
        const msg = newRS ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${name}" has timed out progressing.`;
        setDeploymentCondition(newStatus, newDeploymentCondition('Progressing', 'False', Reason.TimedOut, msg, now));
      }
    }
    const failure = this.replicaFailures(allRSs, newRS);
    if (failure) setDeploymentCondition(newStatus, failure);
    else removeDeploymentCondition(newStatus, 'ReplicaFailure');

    if (sameStatus(d.status, newStatus)) {
      this.requeueStuckDeployment(d, newStatus);
      return;
    }
    s.d.status = newStatus;
    await this.updateDeploymentStatus(s);
  }

  /** The ReplicaFailure condition of the new ReplicaSet, else of any old one. */
  private replicaFailures(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined) {
    const of = (rs: ReplicaSet | undefined) => rs?.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
    const c = of(newRS) ?? allRSs.map(of).find((x) => x !== undefined);
    return c ? replicaSetToDeploymentCondition(c) : undefined;
  }

  /** Looks again when the progress deadline would pass, if nothing else wakes the Deployment first. */
  private requeueStuckDeployment(d: Deployment, newStatus: DeploymentStatus): void {
    const cond = getDeploymentCondition(d.status, 'Progressing');
    if (!hasProgressDeadline(d) || !cond) return;
    if (deploymentComplete(d, newStatus) || cond.reason === Reason.TimedOut) return;
    const last = Date.parse(cond.lastUpdateTime ?? '');
    if (!Number.isFinite(last)) return;
    const after = last + d.spec!.progressDeadlineSeconds! * 1000 - this.now();
    // a second more, so the check runs after the deadline rather than just before it
    this.delayed.addAfter(metaNamespaceKey(d), Math.max(0, after) + 1000);
  }
}

/** The factory the controller manager wires in. */
export const deploymentController: ControllerFactory = (ctx) => new DeploymentController(ctx);
