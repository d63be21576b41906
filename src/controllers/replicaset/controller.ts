// The ReplicaSet controller (upstream pkg/controller/replicaset): keeps `spec.replicas` pods of the
// template running, adopting matching orphans and releasing pods that stopped matching, and reports
// replicas / fullyLabeled / ready / available counts in the status. The same code runs core/v1
// ReplicationControllers (upstream pkg/controller/replication), which differ only by a map selector.
import { ClockDelays } from '../delayed.js';
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../../api/names.js';
import { labelsMatch, selectorFromLabelSelector, type LabelRequirement } from '../../api/labels.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, NAMESPACE_INDEX, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { ClientStatusError, isNotFound, type ResourceClient, type ResourceRef } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { claimObjects, controllerRefOf, newControllerRef } from './controller-ref.js';
import { ControllerExpectations } from './expectations.js';
import { isPodActive, isPodAvailable, isPodReady, podAvailableAt, podKey, podsToDelete } from './pods.js';

/** The most pods created or deleted in one sync (upstream BurstReplicas). */
export const BURST_REPLICAS = 500;
/** upstream controller.SlowStartInitialBatchSize */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;
const STATUS_UPDATE_RETRIES = 1;

export const REPLICA_FAILURE = 'ReplicaFailure';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const clone = <T>(v: T): T => structuredClone(v);

/**
 * Calls `fn` `count` times in batches of 1, 2, 4, … (upstream slowStartBatch): a failing batch
 * stops the rest, so a quota or admission error costs one call instead of hundreds.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length) return { successes, error: failed[0].reason };
    remaining -= batch;
  }
  return { successes };
}

function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof ClientStatusError && (e.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

/** The selector's requirements; undefined when it is missing, empty (matches nothing here) or invalid. */
export function selectorRequirements(rs: ReplicaSet): LabelRequirement[] | undefined {
  const sel = rs.spec?.selector;
  if (!sel) return undefined;
  const reqs = selectorFromLabelSelector(sel);
  return reqs.length ? reqs : undefined;
}

/** A ReplicationController's map selector as requirements (upstream converts it to matchLabels). */
export function mapSelectorRequirements(rc: ReplicationController): LabelRequirement[] | undefined {
  const sel = rc.spec?.selector;
  if (!sel || typeof sel !== 'object') return undefined;
  const reqs = selectorFromLabelSelector({ matchLabels: sel });
  return reqs.length ? reqs : undefined;
}

/** Either kind the controller runs: both have the same spec and status apart from the selector. */
export type ReplicaSetLike = ReplicaSet | ReplicationController;

/** What tells the ReplicaSet and the ReplicationController controllers apart. */
export interface ReplicaSetKindAdapter {
  /** the controller's name (upstream's controller-manager name) */
  name: string;
  queueName: string;
  /** the Events' source component */
  component: string;
  resource: ResourceRef;
  /** of the owner references and status writes */
  apiVersion: string;
  kind: string;
  /** undefined when missing or empty (selects nothing); throws when invalid */
  selector(obj: ReplicaSetLike): LabelRequirement[] | undefined;
}

export const REPLICA_SET_ADAPTER: ReplicaSetKindAdapter = {
  name: 'replicaset',
  queueName: 'replicaset',
  component: 'replicaset-controller',
  resource: RESOURCES.replicasets,
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  selector: (obj) => selectorRequirements(obj as ReplicaSet),
};

export const REPLICATION_CONTROLLER_ADAPTER: ReplicaSetKindAdapter = {
  name: 'replicationcontroller',
  queueName: 'replicationmanager',
  component: 'replication-controller',
  resource: RESOURCES.replicationcontrollers,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  selector: (obj) => mapSelectorRequirements(obj as ReplicationController),
};

/** upstream calculateStatus: counts of the pods the ReplicaSet owns, and the ReplicaFailure condition. */
export function calculateReplicaSetStatus(rs: ReplicaSetLike, pods: Pod[], manageReplicasErr: unknown, now: number): ReplicaSetStatus {
  const status: ReplicaSetStatus = clone(rs.status ?? { replicas: 0 });
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, now)) available++;
    }
  }
  const failure = status.conditions?.find((c) => c.type === REPLICA_FAILURE);
  if (manageReplicasErr !== undefined && !failure) {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const cond: ReplicaSetCondition = { type: REPLICA_FAILURE, status: 'True', lastTransitionTime: nowRFC3339(now), reason, message: errText(manageReplicasErr) };
    status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== REPLICA_FAILURE), cond];
  } else if (manageReplicasErr === undefined && failure) {
    status.conditions = status.conditions!.filter((c) => c.type !== REPLICA_FAILURE);
  }
  if (status.conditions && !status.conditions.length) delete status.conditions;
  status.replicas = pods.length;
  setOrOmit(status, 'fullyLabeledReplicas', fullyLabeled);
  setOrOmit(status, 'readyReplicas', ready);
  setOrOmit(status, 'availableReplicas', available);
  return status;
}

/** Go's omitempty: a zero count is left out, as upstream's JSON does. */
function setOrOmit<T extends object, K extends keyof T>(obj: T, key: K, value: number): void {
  if (value) (obj as Record<K, number>)[key] = value;
  else delete obj[key];
}

export interface ReplicaSetControllerOptions {
  /** ReplicaSets synced in parallel (upstream --concurrent-replicaset-syncs, default 5) */
  workers?: number;
  burstReplicas?: number;
}

export class ReplicaSetController implements Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly expectations: ControllerExpectations;
  private readonly replicaSets: Informer<ReplicaSetLike>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  private readonly podControllerIndex: string;
  private readonly ownerControllerIndex: string;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: ReplicaSetControllerOptions = {},
    private readonly adapter: ReplicaSetKindAdapter = REPLICA_SET_ADAPTER,
  ) {
    this.name = adapter.name;
    this.queue = new WorkQueue({ name: adapter.queueName });
    this.expectations = new ControllerExpectations(() => ctx.clock.now());
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.recorder = ctx.recorder(adapter.component);
    this.replicaSets = ctx.informers.informer<ReplicaSetLike>(adapter.resource);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.podControllerIndex = `${adapter.component}/pod-controller-uid`;
    this.ownerControllerIndex = `${adapter.component}/controller-uid`;
    this.pods.addIndexer(this.podControllerIndex, (p) => {
      const ref = controllerRefOf(p);
      return ref?.uid ? [ref.uid] : [];
    });
    this.replicaSets.addIndexer(this.ownerControllerIndex, (rs) => {
      const ref = controllerRefOf(rs);
      return ref?.uid ? [ref.uid] : [];
    });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (old, cur) => {
        if (old.metadata?.uid !== cur.metadata?.uid) this.onReplicaSetDelete(old);
        this.enqueue(cur);
      },
      onDelete: (rs) => this.onReplicaSetDelete(rs),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (old, cur) => this.onPodUpdate(old, cur),
      onDelete: (p) => this.onPodDelete(p),
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

  private enqueue(rs: ReplicaSetLike): void {
    this.queue.add(metaNamespaceKey(rs));
  }

  private safeSelector(rs: ReplicaSetLike): LabelRequirement[] | undefined {
    try {
      return this.adapter.selector(rs);
    } catch {
      return undefined;
    }
  }

  private onReplicaSetDelete(rs: ReplicaSetLike): void {
    const key = metaNamespaceKey(rs);
    this.expectations.delete(key);
    this.queue.add(key);
  }

  /** The ReplicaSet a controller reference points to, if it is in the cache with that UID. */
  private resolveControllerRef(namespace: string | undefined, pod: Pod): ReplicaSetLike | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== this.adapter.kind) return undefined;
    const rs = this.replicaSets.getByName(namespace, ref.name);
    return rs?.metadata?.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets in the pod's namespace whose selector matches it. */
  private podReplicaSets(pod: Pod): ReplicaSetLike[] {
    return this.replicaSets.byIndex(NAMESPACE_INDEX, pod.metadata?.namespace ?? '').filter((rs) => {
      const reqs = this.safeSelector(rs);
      return !!reqs && labelsMatch(reqs, pod.metadata?.labels);
    });
  }

  private onPodAdd(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // seen for the first time already being deleted (e.g. after a restart): a deletion to observe
      this.onPodDelete(pod);
      return;
    }
    if (controllerRefOf(pod)) {
      const rs = this.resolveControllerRef(pod.metadata?.namespace, pod);
      if (!rs) return;
      const key = metaNamespaceKey(rs);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    // an orphan: whoever matches may want to adopt it (no creation to observe)
    for (const rs of this.podReplicaSets(pod)) this.enqueue(rs);
  }

  private onPodUpdate(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (cur.metadata?.deletionTimestamp) {
      // graceful deletion: count it as observed now rather than when the pod is finally gone
      this.onPodDelete(cur);
      if (labelsChanged) this.onPodDelete(old);
      return;
    }
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = curRef?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const rs = this.resolveControllerRef(old.metadata?.namespace, old);
      if (rs) this.enqueue(rs);
    }
    if (curRef) {
      const rs = this.resolveControllerRef(cur.metadata?.namespace, cur);
      if (!rs) return;
      this.enqueue(rs);
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.delayed.addAfter(metaNamespaceKey(rs), (minReady + 1) * 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.podReplicaSets(cur)) this.enqueue(rs);
  }

  private onPodDelete(pod: Pod): void {
    const rs = this.resolveControllerRef(pod.metadata?.namespace, pod);
    if (!rs) return;
    const key = metaNamespaceKey(rs);
    this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  private replicaSetClient(namespace: string): ResourceClient<ReplicaSetLike> {
    return this.ctx.client.resource<ReplicaSetLike>(this.adapter.resource, namespace);
  }

  private podClient(namespace: string): ResourceClient<Pod> {
    return this.ctx.client.resource<Pod>(RESOURCES.pods, namespace);
  }

  /** One pass over the ReplicaSet `key` (upstream syncReplicaSet). */
  async sync(key: string): Promise<void> {
    const cached = this.replicaSets.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const { namespace = '' } = splitMetaNamespaceKey(key);
    const rsNeedsSync = this.expectations.satisfied(key);
    let reqs: LabelRequirement[] | undefined;
    try {
      reqs = this.adapter.selector(cached);
    } catch (e) {
      this.ctx.log(`${this.adapter.name} ${key}: invalid selector: ${errText(e)}`);
      return;
    }
    const rs = { ...clone(cached), apiVersion: this.adapter.apiVersion, kind: this.adapter.kind } as ReplicaSetLike;
    const active = this.pods.byIndex(NAMESPACE_INDEX, namespace).filter(isPodActive);
    const pods = await this.claimPods(rs, reqs, active);

    let manageErr: unknown;
    if (rsNeedsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await this.manageReplicas(key, pods, rs);
      } catch (e) {
        manageErr = e;
      }
    }
    const now = this.ctx.clock.now();
    const updated = await this.updateStatus(rs, calculateReplicaSetStatus(rs, pods, manageErr, now));
    const minReady = updated.spec?.minReadySeconds ?? 0;
    if (manageErr === undefined && minReady > 0) {
      // look again when the next ready pod has been ready for minReadySeconds
      const due = pods.map((p) => (isPodAvailable(p, minReady, now) ? undefined : podAvailableAt(p, minReady))).filter((t): t is number => t !== undefined);
      if (due.length) this.delayed.addAfter(key, Math.min(...due) - now);
    }
    if (manageErr !== undefined) throw manageErr;
  }

  private async claimPods(rs: ReplicaSetLike, reqs: LabelRequirement[] | undefined, pods: Pod[]): Promise<Pod[]> {
    const namespace = rs.metadata!.namespace!;
    return claimObjects(pods, {
      owner: rs as ReplicaSetLike & { metadata: NonNullable<ReplicaSetLike['metadata']> },
      ownerRef: newControllerRef(rs, this.adapter.apiVersion, this.adapter.kind),
      client: this.podClient(namespace),
      match: (p) => !!reqs && labelsMatch(reqs, p.metadata?.labels),
      canAdopt: async () => {
        const fresh = await this.replicaSetClient(namespace).get(rs.metadata!.name!);
        if (fresh.metadata?.uid !== rs.metadata?.uid)
          throw new Error(`original ${this.adapter.kind} ${namespace}/${rs.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${rs.metadata?.uid}`);
        if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespace}/${rs.metadata?.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
  }

  /** Creates or deletes pods so their number matches spec.replicas (upstream manageReplicas). */
  private async manageReplicas(key: string, pods: Pod[], rs: ReplicaSetLike): Promise<void> {
    const burst = this.opts.burstReplicas ?? BURST_REPLICAS;
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const want = Math.min(-diff, burst);
      this.expectations.expectCreations(key, want);
      const { successes, error } = await slowStartBatch(want, SLOW_START_INITIAL_BATCH_SIZE, () => this.createPod(rs));
      // creations that failed or were never tried will not be observed
      for (let i = successes; i < want; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
    } else if (diff > 0) {
      const count = Math.min(diff, burst);
      const doomed = podsToDelete(pods, this.indirectlyRelatedPods(rs), count, this.ctx.clock.now());
      this.expectations.expectDeletions(key, doomed.map(podKey));
      const results = await Promise.allSettled(
        doomed.map(async (pod) => {
          try {
            await this.deletePod(rs, pod);
          } catch (e) {
            this.expectations.deletionObserved(key, podKey(pod));
            if (!isNotFound(e)) throw e;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /** Pods of every ReplicaSet with the same controller as `rs` (e.g. all of a Deployment's). */
  private indirectlyRelatedPods(rs: ReplicaSetLike): Pod[] {
    const ref = controllerRefOf(rs);
    if (!ref) return [];
    const out: Pod[] = [];
    for (const sibling of this.replicaSets.byIndex(this.ownerControllerIndex, ref.uid))
      out.push(...this.pods.byIndex(this.podControllerIndex, sibling.metadata?.uid ?? ''));
    return out;
  }

  private async createPod(rs: ReplicaSetLike): Promise<void> {
    const template = rs.spec?.template;
    const labels = { ...(template?.metadata?.labels ?? {}) };
    if (!Object.keys(labels).length) throw new Error('unable to create pods, no labels');
    const meta = template?.metadata ?? {};
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata!.name}-`,
        namespace: rs.metadata!.namespace,
        labels,
        ...(meta.annotations && Object.keys(meta.annotations).length ? { annotations: { ...meta.annotations } } : {}),
        ...(meta.finalizers?.length ? { finalizers: [...meta.finalizers] } : {}),
        ownerReferences: [newControllerRef(rs, this.adapter.apiVersion, this.adapter.kind)],
      },
      spec: clone(template?.spec ?? { containers: [] }),
    };
    let created: Pod;
    try {
      created = await this.podClient(rs.metadata!.namespace!).create(pod);
    } catch (e) {
      // pods cannot be created in a namespace going away: nothing to report, nothing to retry
      if (isNamespaceTerminating(e)) return;
      this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errText(e)}`);
      throw e;
    }
    this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
  }

  private async deletePod(rs: ReplicaSetLike, pod: Pod): Promise<void> {
    const name = pod.metadata!.name!;
    try {
      await this.podClient(rs.metadata!.namespace!).delete(name);
    } catch (e) {
      if (isNotFound(e)) throw e;
      this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errText(e)}`);
      throw new Error(`unable to delete pods: ${errText(e)}`);
    }
    this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
  }

  /** Writes the status unless nothing changed (upstream updateReplicaSetStatus); one retry after a conflict. */
  private async updateStatus(rs: ReplicaSetLike, status: ReplicaSetStatus): Promise<ReplicaSetLike> {
    const cur = rs.status ?? { replicas: 0 };
    const generation = rs.metadata?.generation ?? 0;
    if (
      (cur.replicas ?? 0) === status.replicas &&
      (cur.fullyLabeledReplicas ?? 0) === (status.fullyLabeledReplicas ?? 0) &&
      (cur.readyReplicas ?? 0) === (status.readyReplicas ?? 0) &&
      (cur.availableReplicas ?? 0) === (status.availableReplicas ?? 0) &&
      generation === (cur.observedGeneration ?? 0) &&
      JSON.stringify(cur.conditions ?? []) === JSON.stringify(status.conditions ?? [])
    )
      return rs;
    const next = { ...status };
    setOrOmit(next, 'observedGeneration', generation);
    const client = this.replicaSetClient(rs.metadata!.namespace!);
    let target = rs;
    for (let i = 0; ; i++) {
      try {
        return await client.updateStatus({ ...target, apiVersion: this.adapter.apiVersion, kind: this.adapter.kind, status: next } as ReplicaSetLike);
      } catch (e) {
        if (i >= STATUS_UPDATE_RETRIES) throw e;
      }
      target = await client.get(rs.metadata!.name!);
    }
  }
}

/** The factory the controller manager wires in. */
export const replicaSetController: ControllerFactory = (ctx) => new ReplicaSetController(ctx);

/** core/v1 ReplicationControllers, run by the same code (upstream --concurrent-rc-syncs, default 5). */
export const replicationControllerController: ControllerFactory = (ctx) => new ReplicaSetController(ctx, {}, REPLICATION_CONTROLLER_ADAPTER);
