// What the StatefulSet controller knows about its pods and claims (upstream stateful_set_utils.go):
// ordinal identity, names, labels, storage from claim templates, health, and the status they add up to.
import type { StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isPodAvailable, isPodReady } from '../replicaset/pods.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** upstream apps.ControllerRevisionHashLabelKey / DefaultDaemonSetUniqueLabelKey */
export const CONTROLLER_REVISION_HASH_POD_LABEL = 'controller-revision-hash';

const ORDINAL = /^(.*)-([0-9]+)$/;
const clone = <T>(v: T): T => structuredClone(v);

/** The parent name and ordinal encoded in a pod name; ordinal -1 when the name has none. */
export function parentAndOrdinal(pod: Pod): { parent: string; ordinal: number } {
  const m = ORDINAL.exec(pod.metadata?.name ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1], ordinal: Number.isSafeInteger(n) && n <= 2147483647 ? n : -1 };
}

export const getOrdinal = (pod: Pod): number => parentAndOrdinal(pod).ordinal;

/** The pod's name says it belongs to the set (upstream isMemberOf). */
export const isMemberOf = (set: StatefulSet, pod: Pod): boolean => parentAndOrdinal(pod).parent === set.metadata?.name;

export const podName = (set: StatefulSet, ordinal: number): string => `${set.metadata?.name}-${ordinal}`;

export const claimName = (set: StatefulSet, templateName: string, ordinal: number): string => `${templateName}-${set.metadata?.name}-${ordinal}`;

export const startOrdinal = (set: StatefulSet): number => set.spec?.ordinals?.start ?? 0;
export const replicasOf = (set: StatefulSet): number => set.spec?.replicas ?? 1;

export const getPodRevision = (pod: Pod): string => pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_POD_LABEL] ?? '';

/** The pod exists in the API (upstream isCreated: the server gave it a phase). */
export const isCreated = (pod: Pod): boolean => !!pod.status?.phase;
export const isFailed = (pod: Pod): boolean => pod.status?.phase === 'Failed';
export const isSucceeded = (pod: Pod): boolean => pod.status?.phase === 'Succeeded';
export const isTerminating = (pod: Pod): boolean => !!pod.metadata?.deletionTimestamp;
export const isRunningAndReady = (pod: Pod): boolean => pod.status?.phase === 'Running' && isPodReady(pod);
export const isRunningAndAvailable = (pod: Pod, minReadySeconds: number, now: number): boolean =>
  pod.status?.phase === 'Running' && isPodAvailable(pod, minReadySeconds, now);
/** Running, available and not being deleted (upstream isHealthy). */
export const isHealthy = (pod: Pod, minReadySeconds: number, now: number): boolean => isRunningAndAvailable(pod, minReadySeconds, now) && !isTerminating(pod);

/** The claims of one ordinal, keyed by the template (volume) name (upstream getPersistentVolumeClaims). */
export function persistentVolumeClaims(set: StatefulSet, ordinal: number): Map<string, PersistentVolumeClaim> {
  const out = new Map<string, PersistentVolumeClaim>();
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const name = t.metadata?.name ?? '';
    const labels = { ...(t.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) };
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName(set, name, ordinal),
        namespace: set.metadata?.namespace,
        labels,
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      },
      spec: clone(t.spec ?? {}),
    };
    out.set(name, claim);
  }
  return out;
}

/** The pod's volumes with one per claim template, replacing volumes of the same name (upstream updateStorage). */
export function storageVolumes(set: StatefulSet, ordinal: number, volumes: Volume[] | undefined): Volume[] {
  const claims = persistentVolumeClaims(set, ordinal);
  const out: Volume[] = [];
  for (const [name, claim] of claims) out.push({ name, persistentVolumeClaim: { claimName: claim.metadata!.name! } });
  for (const v of volumes ?? []) if (!claims.has(v.name)) out.push(v);
  return out;
}

export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = getOrdinal(pod);
  if (ordinal < 0) return false;
  const byName = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const [name, claim] of persistentVolumeClaims(set, ordinal)) {
    if (byName.get(name)?.persistentVolumeClaim?.claimName !== claim.metadata?.name) return false;
  }
  return true;
}

/** Name, labels and network identity match the ordinal (upstream identityMatches). */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod);
  const labels = pod.metadata?.labels ?? {};
  return (
    ordinal >= 0 &&
    parent === set.metadata?.name &&
    pod.metadata?.name === podName(set, ordinal) &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    labels[POD_NAME_LABEL] === pod.metadata?.name &&
    labels[POD_INDEX_LABEL] === String(ordinal)
  );
}

/** Sets hostname, subdomain and the identity labels (upstream updateIdentity). */
export function setIdentity(set: StatefulSet, pod: Pod): void {
  const name = pod.metadata!.name!;
  const spec = (pod.spec ??= { containers: [] });
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  const labels = (pod.metadata!.labels ??= {});
  labels[POD_NAME_LABEL] = name;
  labels[POD_INDEX_LABEL] = String(getOrdinal(pod));
}

/** A pod of `set`'s template for `ordinal` at `revision` (upstream newStatefulSetPod + revision label). */
export function newStatefulSetPod(set: StatefulSet, ordinal: number, revision: string, controllerRef: OwnerReference): Pod {
  const template = set.spec?.template;
  const meta = template?.metadata ?? {};
  const name = podName(set, ordinal);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${set.metadata?.name}-`,
      namespace: set.metadata?.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations && Object.keys(meta.annotations).length ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers?.length ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [controllerRef],
    },
    spec: clone(template?.spec ?? { containers: [] }),
  };
  setIdentity(set, pod);
  pod.spec!.volumes = storageVolumes(set, ordinal, pod.spec!.volumes);
  if (!pod.spec!.volumes.length) delete pod.spec!.volumes;
  if (revision) pod.metadata!.labels![CONTROLLER_REVISION_HASH_POD_LABEL] = revision;
  return pod;
}

/** Go's omitempty for the status counts. */
function putCount(status: StatefulSetStatus, key: 'readyReplicas' | 'currentReplicas' | 'updatedReplicas' | 'availableReplicas', v: number): void {
  if (v) status[key] = v;
  else delete status[key];
}

/** The counts of a status from the pods that exist (upstream computeReplicaStatus). */
export function replicaStatus(pods: Pod[], minReadySeconds: number, currentRevision: string, updateRevision: string, now: number): StatefulSetStatus {
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const pod of pods) {
    if (isCreated(pod)) replicas++;
    if (isRunningAndReady(pod)) {
      ready++;
      if (isRunningAndAvailable(pod, minReadySeconds, now)) available++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      const rev = getPodRevision(pod);
      if (rev === currentRevision) current++;
      if (rev === updateRevision) updated++;
    }
  }
  const status: StatefulSetStatus = { replicas };
  putCount(status, 'readyReplicas', ready);
  putCount(status, 'availableReplicas', available);
  putCount(status, 'currentReplicas', current);
  putCount(status, 'updatedReplicas', updated);
  return status;
}

/** After a finished RollingUpdate the update revision becomes the current one (upstream completeRollingUpdate). */
export function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus): void {
  const type = set.spec?.updateStrategy?.type ?? 'RollingUpdate';
  const replicas = replicasOf(set);
  if (type === 'RollingUpdate' && (status.updatedReplicas ?? 0) === replicas && (status.readyReplicas ?? 0) === replicas && status.replicas === replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
    if (!status.currentReplicas) delete status.currentReplicas;
  }
}

const STATUS_FIELDS = ['observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'currentRevision', 'updateRevision', 'collisionCount'] as const;

/** The stored status differs from the computed one (upstream inconsistentStatus, plus collisionCount). */
export function statusDiffers(a: StatefulSetStatus | undefined, b: StatefulSetStatus): boolean {
  const norm = (v: unknown) => (v === undefined || v === null || v === 0 || v === '' ? undefined : v);
  return STATUS_FIELDS.some((k) => norm(a?.[k]) !== norm(b[k]));
}
