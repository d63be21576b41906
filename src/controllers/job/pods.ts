// What the Job controller needs to know about pods (upstream podutil and controller helpers).
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { MetaObject } from '../../client/rest.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

const timeOf = (t: string | undefined | null): number => {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : 0;
};

export function controllerRefOf(obj: MetaObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export const isPodFinished = (pod: Pod): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** Not finished and not being deleted (upstream controller.IsPodActive). */
export const isPodActive = (pod: Pod): boolean => !isPodFinished(pod) && !pod.metadata?.deletionTimestamp;

/** Being deleted but not finished yet (upstream controller.IsPodTerminating). */
export const isPodTerminating = (pod: Pod): boolean => !isPodFinished(pod) && !!pod.metadata?.deletionTimestamp;

export const isPodReady = (pod: Pod): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export const hasTrackingFinalizer = (pod: Pod): boolean => pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;

/**
 * When a pod finished (upstream getFinishedTime): the last container termination, else the time Ready
 * turned False, else the deletion time less its grace period, else its creation.
 */
export function podFinishedTime(pod: Pod): number {
  const statuses = pod.status?.containerStatuses ?? [];
  let fromContainers: number | undefined;
  for (const s of statuses) {
    const at = timeOf(s.state?.terminated?.finishedAt);
    if (!at) {
      fromContainers = undefined;
      break;
    }
    fromContainers = Math.max(fromContainers ?? 0, at);
  }
  if (statuses.length && fromContainers) return fromContainers;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'False' && timeOf(ready.lastTransitionTime)) return timeOf(ready.lastTransitionTime);
  if (pod.metadata?.deletionTimestamp) return timeOf(pod.metadata.deletionTimestamp) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  return timeOf(pod.metadata?.creationTimestamp);
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function maxRestarts(pod: Pod): number {
  let n = 0;
  for (const s of pod.status?.containerStatuses ?? []) n = Math.max(n, s.restartCount ?? 0);
  return n;
}

function readySince(pod: Pod): number {
  return timeOf(pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime);
}

/** "0 or later first" as upstream's afterOrZero. */
const afterOrZero = (a: number, b: number): boolean => (a === 0 || b === 0 ? a === 0 : a > b);

/**
 * Orders pods so those to delete first come first (upstream controller.ActivePods): unscheduled,
 * pending, not ready, ready for less time, more restarts, newer.
 */
export function compareActivePods(a: Pod, b: Pod): number {
  const less = (x: Pod, y: Pod): boolean => {
    const xn = x.spec?.nodeName ?? '';
    const yn = y.spec?.nodeName ?? '';
    if (xn !== yn && (!xn || !yn)) return !xn;
    const xp = PHASE_ORDINAL[x.status?.phase ?? ''] ?? 0;
    const yp = PHASE_ORDINAL[y.status?.phase ?? ''] ?? 0;
    if (xp !== yp) return xp < yp;
    if (isPodReady(x) !== isPodReady(y)) return !isPodReady(x);
    if (isPodReady(x) && isPodReady(y)) {
      const xr = readySince(x);
      const yr = readySince(y);
      if (xr !== yr) return afterOrZero(xr, yr);
    }
    if (maxRestarts(x) !== maxRestarts(y)) return maxRestarts(x) > maxRestarts(y);
    const xc = timeOf(x.metadata?.creationTimestamp);
    const yc = timeOf(y.metadata?.creationTimestamp);
    if (xc !== yc) return afterOrZero(xc, yc);
    return false;
  };
  if (less(a, b)) return -1;
  if (less(b, a)) return 1;
  return 0;
}

/** Sum of container restarts of pending and running pods (for restartPolicy OnFailure). */
export function restartsOfUnfinishedPods(pods: Pod[]): number {
  let n = 0;
  for (const p of pods) {
    if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
    for (const s of p.status?.initContainerStatuses ?? []) n += s.restartCount ?? 0;
    for (const s of p.status?.containerStatuses ?? []) n += s.restartCount ?? 0;
  }
  return n;
}
