// The disruption controller (upstream pkg/controller/disruption): keeps each PodDisruptionBudget's
// status — expected, healthy and desired pod counts, the disruptions the eviction API may still allow,
// the evictions it granted that are not yet seen as deletions — and resets stale DisruptionTarget pod
// conditions.
import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { APIResourceList, Condition, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.js';
import { labelsMatch, selectorFromLabelSelector } from '../../api/labels.js';
import { deepEqual } from '../../api/object.js';
import { nowRFC3339 } from '../../api/names.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, NAMESPACE_INDEX, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isConflict, isNotFound, resourcePath } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import { ClockDelays } from '../delayed.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';

/** How long an eviction granted in status.disruptedPods waits to be seen as a deletion (upstream DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60_000;
/** How long a pod keeps DisruptionTarget=True without being deleted before it is reset (upstream stalePodDisruptionTimeout). */
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60_000;
export const DISRUPTION_ALLOWED = 'DisruptionAllowed';
const DISCOVERY_TTL_MS = 30_000;

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const timeOf = (t: string | undefined) => {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : 0;
};

export const isPodReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * An int, or a percentage of `total` rounded up (upstream intstr.GetScaledValueFromIntOrPercent with
 * roundUp). Throws for a string that is not a percentage.
 */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** The pods a budget's selector picks in its namespace; a missing or invalid selector picks none. */
export function selectsPod(pdb: PodDisruptionBudget, pod: Pod): boolean {
  const sel = pdb.spec?.selector;
  if (!sel || pod.metadata?.namespace !== pdb.metadata?.namespace) return false;
  try {
    return labelsMatch(selectorFromLabelSelector(sel), pod.metadata?.labels);
  } catch {
    return false;
  }
}

/** Ready pods that are neither being deleted nor granted an eviction that is still pending (upstream countHealthyPods). */
export function countHealthyPods(pods: Pod[], disruptedPods: Record<string, string>, now: number): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const at = disruptedPods[pod.metadata?.name ?? ''];
    if (at !== undefined && timeOf(at) + DELETION_TIMEOUT_MS > now) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

/**
 * status.disruptedPods without the pods that are gone, being deleted, or were not deleted in time
 * (upstream buildDisruptedPodMap), the pods that were not, and when the map must be looked at again.
 */
export function buildDisruptedPodMap(pods: Pod[], pdb: PodDisruptionBudget, now: number): { disrupted: Record<string, string>; notDeleted: Pod[]; recheckAt?: number } {
  const before = pdb.status?.disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  const notDeleted: Pod[] = [];
  let recheckAt: number | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const at = before[pod.metadata?.name ?? ''];
    if (at === undefined) continue;
    const expected = timeOf(at) + DELETION_TIMEOUT_MS;
    if (expected < now) notDeleted.push(pod);
    else {
      if (recheckAt === undefined || expected < recheckAt) recheckAt = expected;
      disrupted[pod.metadata!.name!] = at;
    }
  }
  return { disrupted, notDeleted, recheckAt };
}

/** Sets the DisruptionAllowed condition from disruptionsAllowed (upstream pdbhelper.UpdateDisruptionAllowedCondition). */
export function updateDisruptionAllowedCondition(status: PodDisruptionBudgetStatus, now: number): void {
  const allowed = status.disruptionsAllowed > 0;
  setCondition(status, { type: DISRUPTION_ALLOWED, status: allowed ? 'True' : 'False', reason: allowed ? 'SufficientPods' : 'InsufficientPods', message: '' }, now);
}

/** upstream meta.SetStatusCondition: lastTransitionTime moves only when the status flips. */
function setCondition(status: PodDisruptionBudgetStatus, c: Omit<Condition, 'lastTransitionTime'>, now: number): void {
  const conditions = [...(status.conditions ?? [])];
  const i = conditions.findIndex((x) => x.type === c.type);
  const cur = i >= 0 ? conditions[i] : undefined;
  const next: Condition = {
    ...c,
    observedGeneration: c.observedGeneration ?? status.observedGeneration,
    lastTransitionTime: cur && cur.status === c.status && cur.lastTransitionTime ? cur.lastTransitionTime : nowRFC3339(now),
  };
  if (next.observedGeneration === undefined) delete next.observedGeneration;
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  (status as { conditions?: Condition[] }).conditions = conditions;
}

/** upstream pdbhelper.ConditionsAreUpToDate */
function conditionsAreUpToDate(pdb: PodDisruptionBudget): boolean {
  const st = pdb.status;
  const cond = st?.conditions?.find((c) => c.type === DISRUPTION_ALLOWED);
  if (!st || !cond || st.observedGeneration !== pdb.metadata?.generation) return false;
  return st.disruptionsAllowed > 0 ? cond.status === 'True' && cond.reason === 'SufficientPods' : cond.status === 'False' && cond.reason === 'InsufficientPods';
}

/** What a pod's controller says about how many pods there should be. */
interface ControllerScale {
  uid: string;
  scale: number;
}

interface ScaleInfo {
  resource?: string;
  hasScale: boolean;
}

const controllerRefOf = (obj: { metadata?: { ownerReferences?: OwnerReference[] } }) => obj.metadata?.ownerReferences?.find((r) => r.controller === true);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');
const versionOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion);
const refIs = (ref: OwnerReference, kind: string, groups: string[]) => ref.kind === kind && groups.includes(groupOf(ref.apiVersion));

const POD_KEY_PREFIX = 'pod:';

export class DisruptionController implements Controller {
  readonly name = 'disruption';
  readonly queue = new WorkQueue({ name: 'disruption' });
  private readonly pdbs: Informer<PodDisruptionBudget>;
  private readonly pods: Informer<Pod>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly deployments: Informer<Deployment>;
  private readonly statefulSets: Informer<StatefulSet>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  private readonly discovery = new Map<string, { at: number; list: APIResourceList }>();
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.recorder = ctx.recorder('controllermanager');
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.pdbs = ctx.informers.informer<PodDisruptionBudget>(RESOURCES.poddisruptionbudgets);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.replicaSets = ctx.informers.informer<ReplicaSet>(RESOURCES.replicasets);
    this.deployments = ctx.informers.informer<Deployment>(RESOURCES.deployments);
    this.statefulSets = ctx.informers.informer<StatefulSet>(RESOURCES.statefulsets);
    this.pdbs.addEventHandler({
      onAdd: (pdb) => this.queue.add(metaNamespaceKey(pdb)),
      onUpdate: (_old, pdb) => this.queue.add(metaNamespaceKey(pdb)),
      onDelete: (pdb) => this.queue.add(metaNamespaceKey(pdb)),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.onPod(pod),
      onUpdate: (_old, pod) => this.onPod(pod),
      onDelete: (pod) => this.enqueuePdbsOf(pod),
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 2, (key) => (key.startsWith(POD_KEY_PREFIX) ? this.syncStalePodDisruption(key) : this.sync(key)), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delayed.stop();
    this.queue.shutDown();
    await this.workers;
  }

  private onPod(pod: Pod): void {
    this.enqueuePdbsOf(pod);
    const wait = this.staleDisruptionWait(pod);
    if (wait !== undefined) this.delayed.addAfter(POD_KEY_PREFIX + metaNamespaceKey(pod), wait);
  }

  private pdbsOf(pod: Pod): PodDisruptionBudget[] {
    return this.pdbs.byIndex(NAMESPACE_INDEX, pod.metadata?.namespace ?? '').filter((pdb) => selectsPod(pdb, pod));
  }

  private enqueuePdbsOf(pod: Pod): void {
    const pdbs = this.pdbsOf(pod);
    if (pdbs.length > 1) {
      const msg = `Pod "${pod.metadata?.namespace}"/"${pod.metadata?.name}" matches multiple PodDisruptionBudgets.  Chose "${pdbs[0].metadata?.name}" arbitrarily.`;
      this.recorder.event(pod, 'Warning', 'MultiplePodDisruptionBudgets', msg);
    }
    // upstream syncs only the first; every budget of the pod is kept up to date here
    for (const pdb of pdbs) this.queue.add(metaNamespaceKey(pdb));
  }

  private podsFor(pdb: PodDisruptionBudget): Pod[] {
    return this.pods.byIndex(NAMESPACE_INDEX, pdb.metadata?.namespace ?? '').filter((pod) => selectsPod(pdb, pod));
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const pdb = this.pdbs.getByName(namespace, name);
    if (!pdb) return;
    try {
      await this.trySync(pdb);
    } catch (e) {
      if (isConflict(e)) throw e;
      this.ctx.log(`disruption: failed to sync PodDisruptionBudget ${key}: ${errText(e)}`);
      await this.failSafe(pdb, e);
    }
  }

  private async trySync(pdb: PodDisruptionBudget): Promise<void> {
    const pods = this.podsFor(pdb);
    if (!pods.length) this.recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    let counts: { expectedCount: number; desiredHealthy: number; unmanagedPods: string[] };
    try {
      counts = await this.expectedPodCount(pdb, pods);
    } catch (e) {
      this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${errText(e)}`);
      throw e;
    }
    if (counts.unmanagedPods.length) {
      this.recorder.event(
        pdb,
        'Warning',
        'UnmanagedPods',
        `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
      );
    }
    const now = this.ctx.clock.now();
    const { disrupted, notDeleted, recheckAt } = buildDisruptedPodMap(pods, pdb, now);
    for (const pod of notDeleted)
      this.recorder.event(pod, 'Warning', 'NotDeleted', `Pod was expected by PDB ${pdb.metadata?.namespace}/${pdb.metadata?.name} to be deleted but it wasn't`);
    const currentHealthy = countHealthyPods(pods, disrupted, now);
    await this.updatePdbStatus(pdb, currentHealthy, counts.desiredHealthy, counts.expectedCount, disrupted, now);
    if (recheckAt !== undefined) this.delayed.addAfter(metaNamespaceKey(pdb), recheckAt - now);
  }

  /** expectedPods and desiredHealthy for the budget's minAvailable or maxUnavailable (upstream getExpectedPodCount). */
  async expectedPodCount(pdb: PodDisruptionBudget, pods: Pod[]): Promise<{ expectedCount: number; desiredHealthy: number; unmanagedPods: string[] }> {
    const spec = pdb.spec ?? {};
    if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
      const { expectedCount, unmanagedPods } = await this.expectedScale(pods);
      const maxUnavailable = scaledValue(spec.maxUnavailable, expectedCount);
      return { expectedCount, desiredHealthy: Math.max(0, expectedCount - maxUnavailable), unmanagedPods };
    }
    if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
      if (typeof spec.minAvailable === 'number') return { expectedCount: pods.length, desiredHealthy: spec.minAvailable, unmanagedPods: [] };
      const { expectedCount, unmanagedPods } = await this.expectedScale(pods);
      return { expectedCount, desiredHealthy: scaledValue(spec.minAvailable, expectedCount), unmanagedPods };
    }
    return { expectedCount: 0, desiredHealthy: 0, unmanagedPods: [] };
  }

  /** The sum of the scales of the pods' controllers (upstream getExpectedScale). */
  private async expectedScale(pods: Pod[]): Promise<{ expectedCount: number; unmanagedPods: string[] }> {
    const scales = new Map<string, number>();
    const unmanagedPods: string[] = [];
    for (const pod of pods) {
      const ref = controllerRefOf(pod);
      if (!ref) {
        unmanagedPods.push(pod.metadata?.name ?? '');
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const found = await this.controllerScale(ref, pod.metadata?.namespace ?? '');
      if (!found) throw new Error(`found no controllers for pod "${pod.metadata?.name}"`);
      scales.set(found.uid, found.scale);
    }
    let expectedCount = 0;
    for (const s of scales.values()) expectedCount += s;
    return { expectedCount, unmanagedPods };
  }

  /** The controller a pod's controller reference leads to, and its replicas: caches first, then the scale subresource. */
  private async controllerScale(ref: OwnerReference, namespace: string): Promise<ControllerScale | undefined> {
    if (refIs(ref, 'ReplicaSet', ['apps', 'extensions'])) {
      const rs = this.replicaSets.getByName(namespace, ref.name);
      if (!rs || rs.metadata?.uid !== ref.uid) return this.scaleController(ref, namespace);
      const rsRef = controllerRefOf(rs);
      if (rsRef && refIs(rsRef, 'Deployment', ['apps', 'extensions'])) {
        const d = this.deployments.getByName(namespace, rsRef.name);
        return d && d.metadata?.uid === rsRef.uid ? { uid: rsRef.uid, scale: d.spec?.replicas ?? 1 } : this.scaleController(ref, namespace);
      }
      if (rsRef?.kind === 'Deployment') return this.scaleController(ref, namespace);
      return { uid: ref.uid, scale: rs.spec?.replicas ?? 1 };
    }
    if (refIs(ref, 'StatefulSet', ['apps'])) {
      const ss = this.statefulSets.getByName(namespace, ref.name);
      if (ss && ss.metadata?.uid === ref.uid) return { uid: ref.uid, scale: ss.spec?.replicas ?? 1 };
    }
    return this.scaleController(ref, namespace);
  }

  /** Any other controller through its scale subresource (upstream getScaleController). */
  private async scaleController(ref: OwnerReference, namespace: string): Promise<ControllerScale | undefined> {
    const group = groupOf(ref.apiVersion);
    const version = versionOf(ref.apiVersion);
    const info = await this.scaleInfo(ref.apiVersion, ref.kind);
    if (!info.resource) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
    const path = resourcePath({ group, version, resource: info.resource, namespaced: true }, namespace, ref.name, 'scale');
    let scale: { metadata?: { uid?: string }; spec?: { replicas?: number } };
    try {
      scale = await this.ctx.client.call('GET', path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (!info.hasScale) throw new Error(`${group ? `${info.resource}.${group}` : info.resource} does not implement the scale subresource`);
      return undefined;
    }
    if (scale.metadata?.uid !== ref.uid) return undefined;
    return { uid: ref.uid, scale: scale.spec?.replicas ?? 0 };
  }

  private async scaleInfo(apiVersion: string, kind: string): Promise<ScaleInfo> {
    const now = this.ctx.clock.now();
    let cached = this.discovery.get(apiVersion);
    if (!cached || now - cached.at > DISCOVERY_TTL_MS) {
      let list: APIResourceList;
      try {
        list = await this.ctx.client.call<APIResourceList>('GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
      } catch (e) {
        if (isNotFound(e)) return { hasScale: false };
        throw e;
      }
      cached = { at: now, list };
      this.discovery.set(apiVersion, cached);
    }
    const res = cached.list.resources?.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!res) return { hasScale: false };
    const hasScale = !!cached.list.resources?.some((r) => r.name === `${res.name}/scale` && r.kind === 'Scale' && r.group === 'autoscaling' && r.version === 'v1');
    return { resource: res.name, hasScale };
  }

  /** Writes the new status when anything changed (upstream updatePdbStatus). */
  private async updatePdbStatus(pdb: PodDisruptionBudget, currentHealthy: number, desiredHealthy: number, expectedCount: number, disruptedPods: Record<string, string>, now: number): Promise<void> {
    // expectedCount > 0 keeps a budget that matches no pods yet safe when its first pods appear
    let disruptionsAllowed = currentHealthy - desiredHealthy;
    if (expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    const st = pdb.status;
    if (
      st &&
      st.currentHealthy === currentHealthy &&
      st.desiredHealthy === desiredHealthy &&
      st.expectedPods === expectedCount &&
      st.disruptionsAllowed === disruptionsAllowed &&
      deepEqual(st.disruptedPods ?? {}, disruptedPods) &&
      st.observedGeneration === pdb.metadata?.generation &&
      conditionsAreUpToDate(pdb)
    )
      return;
    const status: PodDisruptionBudgetStatus = {
      currentHealthy,
      desiredHealthy,
      expectedPods: expectedCount,
      disruptionsAllowed,
      observedGeneration: pdb.metadata?.generation,
      ...(Object.keys(disruptedPods).length ? { disruptedPods } : {}),
      ...(st?.conditions ? { conditions: st.conditions } : {}),
    };
    updateDisruptionAllowedCondition(status, now);
    await this.writeStatus(pdb, status);
  }

  /** After a failed sync: at least stop evictions (upstream failSafe). */
  private async failSafe(pdb: PodDisruptionBudget, err: unknown): Promise<void> {
    const status: PodDisruptionBudgetStatus = { ...(pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptionsAllowed: 0 }), disruptionsAllowed: 0 };
    setCondition(status, { type: DISRUPTION_ALLOWED, status: 'False', reason: 'SyncFailed', message: errText(err), observedGeneration: status.observedGeneration }, this.ctx.clock.now());
    if (deepEqual(status, pdb.status)) return;
    await this.writeStatus(pdb, status);
  }

  private async writeStatus(pdb: PodDisruptionBudget, status: PodDisruptionBudgetStatus): Promise<void> {
    const client = this.ctx.client.resource<PodDisruptionBudget>(RESOURCES.poddisruptionbudgets, pdb.metadata?.namespace);
    await client.updateStatus({ ...pdb, status });
  }

  // ---- stale DisruptionTarget conditions ----

  /** ms until a DisruptionTarget=True condition of a pod that is not going away counts as stale, or undefined. */
  private staleDisruptionWait(pod: Pod): number | undefined {
    if (pod.metadata?.deletionTimestamp) return undefined;
    const cond = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    const phase = pod.status?.phase;
    if (!cond || cond.status !== 'True' || cond.reason === 'TerminationByKubelet' || phase === 'Succeeded' || phase === 'Failed') return undefined;
    return Math.max(0, timeOf(cond.lastTransitionTime) + STALE_POD_DISRUPTION_TIMEOUT_MS - this.ctx.clock.now());
  }

  private async syncStalePodDisruption(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key.slice(POD_KEY_PREFIX.length));
    const pod = this.pods.getByName(namespace, name);
    if (!pod) return;
    const wait = this.staleDisruptionWait(pod);
    if (wait === undefined) return;
    if (wait > 0) {
      this.delayed.addAfter(key, wait);
      return;
    }
    const now = nowRFC3339(this.ctx.clock.now());
    const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'DisruptionTarget' ? { ...c, status: 'False', lastTransitionTime: now } : c));
    await this.ctx.client.resource<Pod>(RESOURCES.pods, namespace).updateStatus({ ...pod, status: { ...pod.status, conditions } });
  }
}

export const disruptionController: ControllerFactory = (ctx) => new DisruptionController(ctx);
