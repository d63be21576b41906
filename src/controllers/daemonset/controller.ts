// The DaemonSet controller (upstream pkg/controller/daemon): one pod on every node the template fits
// (node selector, node affinity, tolerated taints), pinned to its node by a required node affinity on
// metadata.name so the scheduler binds it there; rolled by RollingUpdate (maxUnavailable or maxSurge)
// or OnDelete, with ControllerRevisions as history.
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { templateGeneration } from '../../api/kinds/daemonset.js';
import { labelsMatch, selectorFromLabelSelector, type LabelRequirement } from '../../api/labels.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, NAMESPACE_INDEX, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import { ClockDelays } from '../delayed.js';
import { computeHash } from '../deployment/util.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { claimObjects, controllerRefOf, newControllerRef } from '../replicaset/controller-ref.js';
import { ControllerExpectations } from '../replicaset/expectations.js';
import { isPodAvailable, isPodReady, podAvailableAt, podKey } from '../replicaset/pods.js';
import { slowStartBatch, SLOW_START_INITIAL_BATCH_SIZE } from '../replicaset/controller.js';
import { rawDataOf, sortRevisions, templatePatch, updateRevisionNumber } from '../statefulset/history.js';
import { daemonPodTolerations, nodeNameAffinity, nodeShouldRunDaemonPod, targetNodeName } from './predicates.js';

const COMPONENT = 'daemonset-controller';
/** upstream extensions.DaemonSetTemplateGenerationKey */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
/** upstream apps.DefaultDaemonSetUniqueLabelKey */
export const REVISION_HASH_LABEL = 'controller-revision-hash';
const POD_CONTROLLER_INDEX = 'daemonset-controller/pod-controller-uid';
const REVISION_CONTROLLER_INDEX = 'daemonset-controller/revision-controller-uid';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const clone = <T>(v: T): T => structuredClone(v);
const ownerUIDs = (obj: { metadata?: { ownerReferences?: { controller?: boolean; uid: string }[] } }): string[] => {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
  return ref?.uid ? [ref.uid] : [];
};

function selectorOf(ds: DaemonSet): LabelRequirement[] | undefined {
  try {
    const sel = ds.spec?.selector;
    if (!sel) return undefined;
    const reqs = selectorFromLabelSelector(sel);
    return reqs.length ? reqs : undefined;
  } catch {
    return undefined;
  }
}

const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0;
/** Oldest first; among equals, a pod further along (Running before Pending) first (upstream podByCreationTimestampAndPhase). */
function byCreationAndPhase(a: Pod, b: Pod): number {
  const d = created(a) - created(b);
  if (d) return d;
  const rank = (p: Pod) => ({ Running: 0, Pending: 1 })[p.status?.phase ?? ''] ?? 2;
  return rank(a) - rank(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

/** The pod runs the template of `hash` or of the current template generation (upstream IsPodUpdated). */
export function isPodUpdated(pod: Pod, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  const templateMatches = generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === String(generation);
  return (hash !== '' && labels[REVISION_HASH_LABEL] === hash) || templateMatches;
}

/** int-or-percent of `total`, percentages rounded up (upstream GetScaledValueFromIntOrPercent). */
export function scaledValue(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) return fallback;
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** The pod template for `hash` (upstream CreatePodTemplate): daemon tolerations and generation/hash labels. */
export function daemonPodTemplate(ds: DaemonSet, hash: string): PodTemplateSpec {
  const t = clone(ds.spec?.template ?? { spec: { containers: [] } });
  t.spec ??= { containers: [] };
  t.spec.tolerations = daemonPodTolerations(t.spec);
  const labels = ((t.metadata ??= {}).labels ??= {});
  const gen = templateGeneration(ds);
  if (gen !== undefined) labels[TEMPLATE_GENERATION_LABEL] = String(gen);
  if (hash) labels[REVISION_HASH_LABEL] = hash;
  return t;
}

/** upstream findUpdatedPodsOnNode: at most one updated and one old live pod, else ok false. */
function updatedPodsOnNode(pods: Pod[], hash: string, generation: number | undefined): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

export interface DaemonSetControllerOptions {
  /** DaemonSets synced in parallel (upstream --concurrent-daemonset-syncs, default 2) */
  workers?: number;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  readonly queue = new WorkQueue({ name: 'daemonset' });
  readonly expectations: ControllerExpectations;
  private readonly daemonSets: Informer<DaemonSet>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: DaemonSetControllerOptions = {},
  ) {
    this.expectations = new ControllerExpectations(() => ctx.clock.now());
    this.recorder = ctx.recorder(COMPONENT);
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.daemonSets = ctx.informers.informer<DaemonSet>(RESOURCES.daemonsets);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.nodes = ctx.informers.informer<Node>(RESOURCES.nodes);
    this.revisions = ctx.informers.informer<ControllerRevision>(RESOURCES.controllerrevisions);
    this.pods.addIndexer(POD_CONTROLLER_INDEX, ownerUIDs);
    this.revisions.addIndexer(REVISION_CONTROLLER_INDEX, ownerUIDs);
    this.daemonSets.addEventHandler({
      onAdd: (ds) => this.enqueue(ds),
      onUpdate: (_old, cur) => this.enqueue(cur),
      onDelete: (ds) => {
        this.expectations.delete(metaNamespaceKey(ds));
        this.enqueue(ds);
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (p.metadata?.deletionTimestamp) return this.onPodDelete(p);
        const ds = this.ownerOf(p);
        if (ds) {
          this.expectations.creationObserved(metaNamespaceKey(ds));
          this.enqueue(ds);
        } else if (!controllerRefOf(p)) this.enqueueMatching(p);
      },
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        if (cur.metadata?.deletionTimestamp) return this.onPodDelete(cur);
        if (controllerRefOf(old)?.uid !== controllerRefOf(cur)?.uid) {
          const prev = this.ownerOf(old);
          if (prev) this.enqueue(prev);
        }
        const ds = this.ownerOf(cur);
        if (ds) {
          this.enqueue(ds);
          const minReady = ds.spec?.minReadySeconds ?? 0;
          const at = minReady > 0 ? podAvailableAt(cur, minReady) : undefined;
          if (at !== undefined) this.delayed.addAfter(metaNamespaceKey(ds), at - this.ctx.clock.now());
        } else if (!controllerRefOf(cur)) this.enqueueMatching(cur);
      },
      onDelete: (p) => this.onPodDelete(p),
    });
    this.nodes.addEventHandler({
      onAdd: () => this.enqueueAll(),
      onUpdate: (old, cur) => {
        if (
          JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {}) ||
          JSON.stringify(old.spec?.taints ?? []) !== JSON.stringify(cur.spec?.taints ?? []) ||
          !!old.spec?.unschedulable !== !!cur.spec?.unschedulable
        )
          this.enqueueAll();
      },
      onDelete: () => this.enqueueAll(),
    });
    this.revisions.addEventHandler({
      onAdd: (r) => this.onRevision(r),
      onUpdate: (_old, cur) => this.onRevision(cur),
      onDelete: (r) => this.onRevision(r),
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, this.opts.workers ?? 2, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delayed.stop();
    this.queue.shutDown();
    await this.workers;
  }

  private enqueue(ds: DaemonSet): void {
    this.queue.add(metaNamespaceKey(ds));
  }

  private enqueueAll(): void {
    for (const ds of this.daemonSets.list()) this.enqueue(ds);
  }

  private enqueueMatching(obj: Pod | ControllerRevision): void {
    for (const ds of this.daemonSets.byIndex(NAMESPACE_INDEX, obj.metadata?.namespace ?? '')) {
      const reqs = selectorOf(ds);
      if (reqs && labelsMatch(reqs, obj.metadata?.labels)) this.enqueue(ds);
    }
  }

  private ownerOf(obj: Pod | ControllerRevision): DaemonSet | undefined {
    const ref = controllerRefOf(obj);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const ds = this.daemonSets.getByName(obj.metadata?.namespace, ref.name);
    return ds?.metadata?.uid === ref.uid ? ds : undefined;
  }

  private onPodDelete(pod: Pod): void {
    const ds = this.ownerOf(pod);
    if (!ds) return;
    const key = metaNamespaceKey(ds);
    this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  private onRevision(r: ControllerRevision): void {
    const ds = this.ownerOf(r);
    if (ds) this.enqueue(ds);
    else if (!controllerRefOf(r) && !r.metadata?.deletionTimestamp) this.enqueueMatching(r);
  }

  private podClient = (ns: string) => this.ctx.client.resource<Pod>(RESOURCES.pods, ns);
  private revisionClient = (ns: string) => this.ctx.client.resource<ControllerRevision>(RESOURCES.controllerrevisions, ns);
  private dsClient = (ns: string) => this.ctx.client.resource<DaemonSet>(RESOURCES.daemonsets, ns);

  /** One pass over the DaemonSet `key` (upstream syncDaemonSet). */
  async sync(key: string): Promise<void> {
    const cached = this.daemonSets.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const ds = clone(cached);
    const { namespace = '' } = splitMetaNamespaceKey(key);
    const reqs = selectorOf(ds);
    if (!reqs) {
      this.recorder.event(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    if (ds.metadata?.deletionTimestamp) return;
    const owner = ds as DaemonSet & { metadata: NonNullable<DaemonSet['metadata']> };
    const ownerRef = newControllerRef(ds, 'apps/v1', 'DaemonSet');
    const canAdopt = async () => {
      const fresh = await this.dsClient(namespace).get(ds.metadata!.name!);
      if (fresh.metadata?.uid !== ds.metadata?.uid) throw new Error(`original DaemonSet ${key} is gone: got uid ${fresh.metadata?.uid}, wanted ${ds.metadata?.uid}`);
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${key} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    };
    const revisions = await claimObjects(this.revisions.byIndex(NAMESPACE_INDEX, namespace), {
      owner,
      ownerRef,
      client: this.revisionClient(namespace),
      match: (r) => labelsMatch(reqs, r.metadata?.labels),
      canAdopt,
    });
    const { cur, old } = await this.constructHistory(ds, revisions);
    const hash = cur.metadata?.labels?.[REVISION_HASH_LABEL] ?? '';

    const pods = await claimObjects(this.pods.byIndex(NAMESPACE_INDEX, namespace), {
      owner,
      ownerRef,
      client: this.podClient(namespace),
      match: (p) => labelsMatch(reqs, p.metadata?.labels),
      canAdopt,
    });
    const nodes = this.nodes.list();
    const byNode = this.nodeToDaemonPods(pods);

    if (this.expectations.satisfied(key)) {
      const acted = await this.manage(ds, nodes, byNode, pods, hash);
      if (!acted && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') await this.rollingUpdate(ds, nodes, byNode, hash);
      await this.cleanupHistory(ds, pods, old);
    }
    await this.updateStatus(ds, nodes, byNode, hash);
  }

  /** Daemon pods by the node they are for; pods naming no node are left out (upstream getNodesToDaemonPods). */
  private nodeToDaemonPods(pods: Pod[]): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>();
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')) continue;
      const node = targetNodeName(pod);
      if (!node) continue;
      const list = out.get(node);
      if (list) list.push(pod);
      else out.set(node, [pod]);
    }
    return out;
  }

  /** Creates pods where they are missing and deletes those that should not run (upstream manage); true when it acted. */
  private async manage(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, pods: Pod[], hash: string): Promise<boolean> {
    const needing: string[] = [];
    const toDelete: Pod[] = [];
    const surge = scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge as number | string | undefined, 1, 0) > 0 && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const now = this.ctx.clock.now();
    const nodeNames = new Set(nodes.map((n) => n.metadata?.name));
    for (const node of nodes) {
      const name = node.metadata!.name!;
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
      const daemonPods = byNode.get(name) ?? [];
      if (shouldRun && daemonPods.length === 0) {
        needing.push(name);
        continue;
      }
      if (shouldContinueRunning) {
        const running: Pod[] = [];
        for (const pod of daemonPods) {
          if (pod.metadata?.deletionTimestamp) continue;
          if (pod.status?.phase === 'Failed') {
            this.recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata?.namespace}/${pod.metadata?.name} on node ${name}, will try to kill it`);
            toDelete.push(pod);
          } else running.push(pod);
        }
        if (running.length <= 1) continue;
        running.sort(byCreationAndPhase);
        if (!surge) {
          toDelete.push(...running.slice(1));
          continue;
        }
        const generation = templateGeneration(ds);
        let oldestNew: Pod | undefined;
        let oldestOld: Pod | undefined;
        for (const pod of running) {
          if (isPodUpdated(pod, hash, generation)) {
            if (!oldestNew) oldestNew = pod;
            else toDelete.push(pod);
          } else if (!oldestOld) oldestOld = pod;
          else toDelete.push(pod);
        }
        if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))) toDelete.push(oldestOld);
        continue;
      }
      for (const pod of daemonPods) if (!pod.metadata?.deletionTimestamp) toDelete.push(pod);
    }
    // pods for nodes that are gone: no node agent will ever run or remove them
    for (const pod of pods) {
      const node = targetNodeName(pod);
      if (node && !nodeNames.has(node) && !pod.metadata?.deletionTimestamp) toDelete.push(pod);
    }
    await this.syncNodes(ds, toDelete, needing, hash);
    return toDelete.length > 0 || needing.length > 0;
  }

  /** Deletes `toDelete` and creates one pod for each node in `needing` (upstream syncNodes). */
  private async syncNodes(ds: DaemonSet, toDelete: Pod[], needing: string[], hash: string): Promise<void> {
    if (!toDelete.length && !needing.length) return;
    const key = metaNamespaceKey(ds);
    const ns = ds.metadata!.namespace!;
    // one kind of expectation at a time: a repeated delete is harmless (uid precondition), a repeated create is not
    if (needing.length) this.expectations.expectCreations(key, needing.length);
    else this.expectations.expectDeletions(key, toDelete.map(podKey));
    const errors: unknown[] = [];
    if (needing.length) {
      const template = daemonPodTemplate(ds, hash);
      const queue = [...needing];
      const result = await slowStartBatch(needing.length, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        const nodeName = queue.shift()!;
        try {
          await this.createPod(ds, template, nodeName);
        } catch (e) {
          this.expectations.creationObserved(key);
          throw e;
        }
      });
      const skipped = needing.length - result.successes - (result.error ? 1 : 0);
      for (let i = 0; i < skipped; i++) this.expectations.creationObserved(key);
      if (result.error) errors.push(result.error);
    }
    await Promise.all(
      toDelete.map(async (pod) => {
        try {
          await this.podClient(ns).delete(pod.metadata!.name!, { preconditions: { uid: pod.metadata?.uid } });
          this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, podKey(pod));
          if (isNotFound(e) || isConflict(e)) return;
          this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${errText(e)}`);
          errors.push(e);
        }
      }),
    );
    if (errors.length) throw errors[0];
  }

  private async createPod(ds: DaemonSet, template: PodTemplateSpec, nodeName: string): Promise<void> {
    const meta = template.metadata ?? {};
    const spec = clone(template.spec!);
    spec.affinity = nodeNameAffinity(spec.affinity, nodeName);
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata!.name}-`,
        namespace: ds.metadata!.namespace,
        labels: { ...(meta.labels ?? {}) },
        ...(meta.annotations && Object.keys(meta.annotations).length ? { annotations: { ...meta.annotations } } : {}),
        ...(meta.finalizers?.length ? { finalizers: [...meta.finalizers] } : {}),
        ownerReferences: [newControllerRef(ds, 'apps/v1', 'DaemonSet')],
      },
      spec,
    };
    let created: Pod;
    try {
      created = await this.podClient(ds.metadata!.namespace!).create(pod);
    } catch (e) {
      this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${errText(e)}`);
      throw e;
    }
    this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
  }

  /** upstream rollingUpdate: replace old pods within maxUnavailable, or surge new ones within maxSurge. */
  private async rollingUpdate(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, hash: string): Promise<void> {
    const now = this.ctx.clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const generation = templateGeneration(ds);
    const candidates = new Map<string, Pod[]>();
    for (const node of nodes) {
      const name = node.metadata!.name!;
      const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
      if (shouldRun) candidates.set(name, byNode.get(name) ?? []);
    }
    const desired = candidates.size;
    const ru = ds.spec?.updateStrategy?.rollingUpdate;
    let maxUnavailable = scaledValue(ru?.maxUnavailable as number | string | undefined, desired, 1);
    const maxSurge = scaledValue(ru?.maxSurge as number | string | undefined, desired, 0);
    if (maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const available = (p: Pod) => isPodAvailable(p, minReady, now);

    if (maxSurge === 0) {
      let numUnavailable = 0;
      const replacements: Pod[] = [];
      const deletable: Pod[] = [];
      for (const pods of candidates.values()) {
        const { newPod, oldPod, ok } = updatedPodsOnNode(pods, hash, generation);
        if (!ok || (!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
        else if (newPod) {
          if (!available(newPod)) numUnavailable++;
        } else if (oldPod) {
          if (!available(oldPod)) replacements.push(oldPod);
          else if (numUnavailable < maxUnavailable) deletable.push(oldPod);
        }
      }
      const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), deletable.length);
      await this.syncNodes(ds, [...replacements, ...deletable.slice(0, remaining)], [], hash);
      return;
    }

    let numSurge = 0;
    const allowedNew: string[] = [];
    const candidateNew: string[] = [];
    const oldToDelete: Pod[] = [];
    for (const [nodeName, pods] of candidates) {
      const { newPod, oldPod, ok } = updatedPodsOnNode(pods, hash, generation);
      if (!ok) {
        numSurge++;
        continue;
      }
      if (!oldPod) continue;
      if (!newPod) {
        if (!available(oldPod)) allowedNew.push(nodeName);
        else if (numSurge < maxSurge) candidateNew.push(nodeName);
        continue;
      }
      if (!available(newPod)) {
        numSurge++;
        continue;
      }
      oldToDelete.push(oldPod);
    }
    const remaining = Math.min(Math.max(0, maxSurge - numSurge), candidateNew.length);
    await this.syncNodes(ds, oldToDelete, [...allowedNew, ...candidateNew.slice(0, remaining)], hash);
  }

  /**
   * The revision of the current template (created, or renumbered to come last) and the others
   * (upstream constructHistory).
   */
  private async constructHistory(ds: DaemonSet, revisions: ControllerRevision[]): Promise<{ cur: ControllerRevision; old: ControllerRevision[] }> {
    const data = templatePatch(ds.spec?.template);
    const current: ControllerRevision[] = [];
    const old: ControllerRevision[] = [];
    for (const r of revisions) (rawDataOf(r) === data ? current : old).push(r);
    const next = old.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;
    const client = this.revisionClient(ds.metadata!.namespace!);
    if (!current.length) return { cur: await this.snapshot(ds, data, next), old };
    const [keep, ...dupes] = sortRevisions(current).reverse();
    for (const d of dupes) {
      try {
        await client.delete(d.metadata!.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    let cur = keep;
    if (!cur.metadata?.labels?.[REVISION_HASH_LABEL]) cur = { ...cur, metadata: { ...cur.metadata, labels: { ...(cur.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: cur.metadata!.name! } } };
    if ((cur.revision ?? 0) < next) cur = await updateRevisionNumber(client, cur, next);
    return { cur, old };
  }

  /** Records the current template as a new revision (upstream snapshot); a name collision bumps status.collisionCount. */
  private async snapshot(ds: DaemonSet, data: string, revision: number): Promise<ControllerRevision> {
    const ns = ds.metadata!.namespace!;
    const hash = computeHash(ds.spec?.template, ds.status?.collisionCount ?? undefined);
    const cr: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${ds.metadata!.name}-${hash}`,
        namespace: ns,
        labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
        ...(ds.metadata?.annotations ? { annotations: { ...ds.metadata.annotations } } : {}),
        ownerReferences: [newControllerRef(ds, 'apps/v1', 'DaemonSet')],
      },
      data: JSON.parse(data) as ControllerRevision['data'],
      revision,
    };
    try {
      return await this.revisionClient(ns).create(cr);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await this.revisionClient(ns).get(cr.metadata!.name!);
      if (rawDataOf(existing) === data) return existing;
      const fresh = await this.dsClient(ns).get(ds.metadata!.name!);
      const status = { ...(fresh.status ?? {}), collisionCount: (fresh.status?.collisionCount ?? 0) + 1 } as DaemonSetStatus;
      await this.dsClient(ns).updateStatus({ ...fresh, status });
      throw new Error(`found a hash collision for DaemonSet ${ds.metadata!.name} - bumping collisionCount to ${status.collisionCount} to resolve it`);
    }
  }

  /** Deletes the oldest revisions beyond revisionHistoryLimit that no pod runs (upstream cleanupHistory). */
  private async cleanupHistory(ds: DaemonSet, pods: Pod[], old: ControllerRevision[]): Promise<void> {
    let toKill = old.length - (ds.spec?.revisionHistoryLimit ?? 10);
    if (toKill <= 0) return;
    const live = new Set(pods.map((p) => p.metadata?.labels?.[REVISION_HASH_LABEL]).filter((h): h is string => !!h));
    const client = this.revisionClient(ds.metadata!.namespace!);
    for (const r of sortRevisions(old)) {
      if (toKill <= 0) break;
      const h = r.metadata?.labels?.[REVISION_HASH_LABEL] ?? r.metadata?.name ?? '';
      if (live.has(h)) continue;
      try {
        await client.delete(r.metadata!.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      toKill--;
    }
  }

  /** upstream updateDaemonSetStatus */
  private async updateStatus(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, hash: string): Promise<void> {
    const now = this.ctx.clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const generation = templateGeneration(ds);
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const node of nodes) {
      const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
      const pods = byNode.get(node.metadata!.name!) ?? [];
      if (!shouldRun) {
        if (pods.length) misscheduled++;
        continue;
      }
      desired++;
      if (!pods.length) continue;
      current++;
      const pod = [...pods].sort(byCreationAndPhase)[0];
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
      if (isPodUpdated(pod, hash, generation)) updated++;
    }
    const status: DaemonSetStatus = {
      ...(ds.status ?? {}),
      currentNumberScheduled: current,
      desiredNumberScheduled: desired,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      observedGeneration: ds.metadata?.generation,
    };
    const put = (k: 'numberAvailable' | 'numberUnavailable' | 'updatedNumberScheduled', v: number) => {
      if (v) status[k] = v;
      else delete status[k];
    };
    put('updatedNumberScheduled', updated);
    put('numberAvailable', available);
    put('numberUnavailable', desired - available);
    const keys = ['currentNumberScheduled', 'desiredNumberScheduled', 'numberMisscheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'] as const;
    const same = keys.every((k) => (ds.status?.[k] ?? 0) === (status[k] ?? 0));
    if (!same) {
      const client = this.dsClient(ds.metadata!.namespace!);
      let target = ds;
      for (let i = 0; ; i++) {
        try {
          await client.updateStatus({ ...target, apiVersion: 'apps/v1', kind: 'DaemonSet', status: { ...status, collisionCount: target.status?.collisionCount } });
          break;
        } catch (e) {
          if (i >= 1 || !isConflict(e)) throw e;
        }
        target = await client.get(ds.metadata!.name!);
      }
    }
    if (minReady > 0 && ready !== available) this.delayed.addAfter(metaNamespaceKey(ds), minReady * 1000);
  }
}

/** The factory the controller manager wires in. */
export const daemonSetController: ControllerFactory = (ctx) => new DaemonSetController(ctx);
