// Taints the node lifecycle controller manages, and the toleration rules the taint manager applies
// (upstream core/v1 helpers: ToleratesTaint, GetMatchingTolerations, getMinTolerationTime).
import type { Node, NodeCondition, Taint, Toleration } from 'kubernetes-types/core/v1.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** Which condition status gives which NoSchedule taint key. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};

const CONDITION_TAINT_KEYS = new Set([TAINT_UNSCHEDULABLE, ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m))]);

export function nodeCondition(node: Node | undefined, type: string): NodeCondition | undefined {
  return node?.status?.conditions?.find((c) => c.type === type);
}

export const sameTaint = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;

/** The NoSchedule taints a node's conditions and spec.unschedulable call for (upstream doNoScheduleTaintingPass). */
export function wantedNoScheduleTaints(node: Node): Taint[] {
  const out: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) out.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return out;
}

/** The node's NoSchedule taints this controller owns (condition taints and the unschedulable one). */
export function managedNoScheduleTaints(node: Node): Taint[] {
  return (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' && CONDITION_TAINT_KEYS.has(t.key));
}

/** The NoExecute taint the Ready condition calls for: not-ready when False, unreachable when Unknown. */
export function wantedNoExecuteTaint(ready: NodeCondition | undefined): Taint | undefined {
  if (ready?.status === 'False') return { key: TAINT_NOT_READY, effect: 'NoExecute' };
  if (ready?.status === 'Unknown') return { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
  return undefined;
}

export const isReadyNoExecuteTaint = (t: Taint) => t.effect === 'NoExecute' && (t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE);

/**
 * The node's taints with `add` added (stamped `timeAdded`, unless one with the same key and effect is
 * there) and `remove` removed; undefined when nothing changes.
 */
export function swapTaints(taints: readonly Taint[] | undefined, add: readonly Taint[], remove: (t: Taint) => boolean, timeAdded: string): Taint[] | undefined {
  const cur = taints ?? [];
  const kept = cur.filter((t) => !remove(t) || add.some((a) => sameTaint(a, t)));
  const added = add.filter((a) => !kept.some((t) => sameTaint(a, t))).map((a) => ({ ...a, timeAdded }));
  if (!added.length && kept.length === cur.length) return undefined;
  return [...kept, ...added];
}

export function noExecuteTaints(node: Node | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
}

/** Whether one toleration tolerates one taint (an empty effect, or an empty key with Exists, match all). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator || 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** upstream GetMatchingTolerations: whether every taint is tolerated, and the tolerations used. */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined): { allTolerated: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = (tolerations ?? []).find((tol) => toleratesTaint(tol, taint));
    if (!t) return { allTolerated: false, used: [] };
    used.push(t);
  }
  return { allTolerated: true, used };
}

/** The shortest tolerationSeconds in ms: 0 when none are used or one is ≤ 0, −1 when all tolerate forever. */
export function minTolerationMs(used: readonly Toleration[]): number {
  if (!used.length) return 0;
  let min = Infinity;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}
