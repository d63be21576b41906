// What workload controllers need to know about pods: active, ready, available (upstream podutil),
// and which pods to delete first when scaling down (upstream ActivePodsWithRanks).
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

export const podKey = (pod: Pod): string => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

/** Not finished and not being deleted (upstream controller.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

export function podReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

const timeOf = (t: string | undefined): number => {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : 0;
};

/** Ready for longer than minReadySeconds at `now` (upstream podutil.IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = timeOf(podReadyCondition(pod)?.lastTransitionTime);
  return since !== 0 && since + minReadySeconds * 1000 < now;
}

/** When a ready pod that is not yet available becomes available (ms since the epoch), or undefined. */
export function podAvailableAt(pod: Pod, minReadySeconds: number): number | undefined {
  if (!isPodReady(pod) || !minReadySeconds) return undefined;
  const since = timeOf(podReadyCondition(pod)?.lastTransitionTime);
  return since === 0 ? undefined : since + minReadySeconds * 1000 + 1;
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

function maxContainerRestarts(pod: Pod): { regular: number; sidecar: number } {
  let regular = 0;
  let sidecar = 0;
  for (const c of pod.status?.containerStatuses ?? []) regular = Math.max(regular, c.restartCount ?? 0);
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const c of pod.status?.initContainerStatuses ?? []) if (sidecars.has(c.name)) sidecar = Math.max(sidecar, c.restartCount ?? 0);
  return { regular, sidecar };
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const phaseOrdinal = (pod: Pod) => PHASE_ORDINAL[pod.status?.phase ?? ''] ?? 0;

/** upstream afterOrZero: a zero time sorts first, otherwise the later time does. */
const afterOrZero = (t1: number, t2: number): boolean => (t1 === 0 || t2 === 0 ? t1 === 0 : t1 > t2);

/** floor(log2(age in ns)) difference, so pods of similar age count as the same (LogarithmicScaleDown). */
function logarithmicRankDiff(t1: number, t2: number, now: number): number {
  const rank = (t: number) => {
    const ns = (now - t) * 1e6;
    return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
  };
  return rank(t1) - rank(t2);
}

function compareTimes(t1: number, t2: number, uid1: string, uid2: string, now: number): boolean {
  if (now === 0 || t1 === 0 || t2 === 0) return afterOrZero(t1, t2);
  const d = logarithmicRankDiff(t1, t2, now);
  if (d === 0) return uid1 < uid2;
  return d < 0;
}

interface RankedPod {
  pod: Pod;
  /** active related pods on the same node */
  rank: number;
}

/** upstream ActivePodsWithRanks.Less: true when `a` should be deleted before `b`. */
function deleteFirst(a: RankedPod, b: RankedPod, now: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  // 1. unassigned < assigned
  if (na !== nb && (na === '' || nb === '')) return na === '';
  // 2. Pending < Unknown < Running
  if (phaseOrdinal(pa) !== phaseOrdinal(pb)) return phaseOrdinal(pa) < phaseOrdinal(pb);
  // 3. not ready < ready
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return !ra;
  // 4. lower pod-deletion-cost < higher
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca < cb;
  // 5. doubled up on a node < not doubled up
  if (a.rank !== b.rank) return a.rank > b.rank;
  const uidA = pa.metadata?.uid ?? '';
  const uidB = pb.metadata?.uid ?? '';
  // 6. ready for less time < more time
  if (ra && rb) {
    const ta = timeOf(podReadyCondition(pa)?.lastTransitionTime);
    const tb = timeOf(podReadyCondition(pb)?.lastTransitionTime);
    if (ta !== tb) return compareTimes(ta, tb, uidA, uidB, now);
  }
  // 7. more container restarts < fewer
  const xa = maxContainerRestarts(pa);
  const xb = maxContainerRestarts(pb);
  if (xa.regular !== xb.regular) return xa.regular > xb.regular;
  if (xa.sidecar !== xb.sidecar) return xa.sidecar > xb.sidecar;
  // 8. no creation time < newer < older
  const ta = timeOf(pa.metadata?.creationTimestamp);
  const tb = timeOf(pb.metadata?.creationTimestamp);
  if (ta !== tb) return compareTimes(ta, tb, uidA, uidB, now);
  return false;
}

/** Pods sorted so the ones to delete first come first (upstream getPodsRankedByRelatedPodsOnSameNode + sort). */
export function rankPodsForDeletion(pods: Pod[], relatedPods: Pod[], now: number): Pod[] {
  const onNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked: RankedPod[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => (deleteFirst(a, b, now) ? -1 : deleteFirst(b, a, now) ? 1 : 0));
  return ranked.map((r) => r.pod);
}

/** The `diff` pods to delete out of `pods` (all of them without ranking when every one goes). */
export function podsToDelete(pods: Pod[], relatedPods: Pod[], diff: number, now: number): Pod[] {
  if (diff >= pods.length) return pods.slice();
  return rankPodsForDeletion(pods, relatedPods, now).slice(0, diff);
}
