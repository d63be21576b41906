// What the PersistentVolume controllers share: upstream's annotations and finalizers, how a claim's
// class is read, and how the best volume for a claim is chosen (component-helpers storage/volume).
import type { ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { labelSelectorMatches } from '../../api/labels.js';
import { cmpQuantity, parseQuantity, type Quantity } from '../../api/quantity.js';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const NOT_SUPPORTED_PROVISIONER = 'kubernetes.io/no-provisioner';

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

/** The claim's class: the beta annotation wins over spec.storageClassName, as upstream reads it. */
export const claimClass = (c: PersistentVolumeClaim): string => c.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? c.spec?.storageClassName ?? '';
export const volumeClass = (v: PersistentVolume): string => v.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? v.spec?.storageClassName ?? '';
/** Whether the claim asked for a class at all (an empty string is an answer: "no class"). */
export const claimHasClass = (c: PersistentVolumeClaim): boolean =>
  c.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] !== undefined || (c.spec?.storageClassName !== undefined && c.spec.storageClassName !== null);

export const claimKey = (c: PersistentVolumeClaim): string => `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`;
export const claimRefKey = (r: ObjectReference): string => `${r.namespace ?? ''}/${r.name ?? ''}`;

export const hasAnnotation = (o: { metadata?: { annotations?: Record<string, string> } }, key: string): boolean =>
  o.metadata?.annotations?.[key] !== undefined;

const ZERO = parseQuantity('0');

/** The storage quantity of a resource list entry; malformed or absent counts as zero. */
export function storageQuantity(v: unknown): Quantity {
  if (typeof v !== 'string' && typeof v !== 'number') return ZERO;
  try {
    return parseQuantity(v);
  } catch {
    return ZERO;
  }
}

export const claimRequest = (c: PersistentVolumeClaim): Quantity => storageQuantity(c.spec?.resources?.requests?.storage);
export const volumeCapacity = (v: PersistentVolume): Quantity => storageQuantity(v.spec?.capacity?.storage);

/** Pre-bound or bound to this claim: same namespace and name, and the same uid once one is recorded. */
export function isVolumeBoundToClaim(v: PersistentVolume, c: PersistentVolumeClaim): boolean {
  const ref = v.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== c.metadata?.name || ref.namespace !== c.metadata?.namespace) return false;
  return !ref.uid || ref.uid === c.metadata?.uid;
}

export const volumeModeMismatch = (c: PersistentVolumeClaim, v: PersistentVolume): boolean =>
  (c.spec?.volumeMode ?? 'Filesystem') !== (v.spec?.volumeMode ?? 'Filesystem');

export function accessModesSatisfied(c: PersistentVolumeClaim, v: PersistentVolume): boolean {
  const have = new Set(v.spec?.accessModes ?? []);
  return (c.spec?.accessModes ?? []).every((m) => have.has(m));
}

/** Why a volume the claim names cannot serve it, or undefined when it can (upstream checkVolumeSatisfyClaim). */
export function volumeUnsatisfiedReason(v: PersistentVolume, c: PersistentVolumeClaim): string | undefined {
  if (v.metadata?.deletionTimestamp) return `the volume is marked for deletion "${v.metadata.name ?? ''}"`;
  if (cmpQuantity(volumeCapacity(v), claimRequest(c)) < 0) return 'requested PV is too small';
  if (volumeClass(v) !== claimClass(c)) return 'storageClassName does not match';
  if (volumeModeMismatch(c, v)) return 'incompatible volumeMode';
  if (!accessModesSatisfied(c, v)) return 'incompatible accessMode';
  return undefined;
}

/**
 * The smallest matching volume among `volumes` (upstream FindMatchingVolume without a node): a volume
 * pre-bound to the claim wins at once; with delayBinding, unbound volumes are left to the scheduler.
 */
function findMatchingVolume(c: PersistentVolumeClaim, volumes: readonly PersistentVolume[], delayBinding: boolean): PersistentVolume | undefined {
  const want = claimRequest(c);
  const cls = claimClass(c);
  const claimVAC = c.spec?.volumeAttributesClassName ?? '';
  let best: PersistentVolume | undefined;
  for (const v of volumes) {
    if (v.spec?.claimRef && !isVolumeBoundToClaim(v, c)) continue;
    const size = volumeCapacity(v);
    if (cmpQuantity(size, want) < 0) continue;
    if (volumeModeMismatch(c, v)) continue;
    if ((v.spec?.volumeAttributesClassName ?? '') !== claimVAC) continue;
    if (v.metadata?.deletionTimestamp) continue;
    if (isVolumeBoundToClaim(v, c)) return v;
    if (delayBinding) continue;
    if (v.status?.phase !== 'Available') continue;
    if (c.spec?.selector && !labelSelectorMatches(c.spec.selector, v.metadata?.labels)) continue;
    if (volumeClass(v) !== cls) continue;
    if (!best || cmpQuantity(volumeCapacity(best), size) > 0) best = v;
  }
  return best;
}

const ACCESS_MODE_ORDER = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
const modesKey = (modes: readonly string[] | undefined): string =>
  [...new Set(modes ?? [])].sort((a, b) => ACCESS_MODE_ORDER.indexOf(a) - ACCESS_MODE_ORDER.indexOf(b)).join(',');

/**
 * The PV controller's choice (upstream persistentVolumeOrderedIndex.findBestMatchForClaim): volumes are
 * grouped by their access modes; groups that hold every mode the claim asks for are tried from the one
 * with the fewest modes, and within a group the smallest matching volume is taken.
 */
export function findBestMatchForClaim(c: PersistentVolumeClaim, volumes: readonly PersistentVolume[], delayBinding: boolean): PersistentVolume | undefined {
  const wanted = c.spec?.accessModes ?? [];
  const groups = new Map<string, PersistentVolume[]>();
  for (const v of volumes) {
    const key = modesKey(v.spec?.accessModes);
    const have = new Set(v.spec?.accessModes ?? []);
    if (!wanted.every((m) => have.has(m))) continue;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(v);
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => a.split(',').length - b.split(',').length || (a < b ? -1 : a > b ? 1 : 0));
  for (const [, group] of ordered) {
    const v = findMatchingVolume(c, group, delayBinding);
    if (v) return v;
  }
  return undefined;
}

/** A reference to the claim as upstream's reference.GetReference makes it. */
export function claimReference(c: PersistentVolumeClaim): ObjectReference {
  return {
    kind: 'PersistentVolumeClaim',
    namespace: c.metadata?.namespace,
    name: c.metadata?.name,
    uid: c.metadata?.uid,
    apiVersion: 'v1',
    resourceVersion: c.metadata?.resourceVersion,
  };
}

/** Succeeded or Failed: the pod's containers will not run again. */
export const isPodTerminated = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** `namespace/claimName` of every claim the pod's volumes name (ephemeral volumes as `<pod>-<volume>`). */
export function podClaimKeys(p: Pod): string[] {
  const ns = p.metadata?.namespace ?? '';
  const out: string[] = [];
  for (const v of p.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) out.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
    else if (v.ephemeral) out.push(`${ns}/${p.metadata?.name ?? ''}-${v.name}`);
  }
  return out;
}

/** A numeric compare of resourceVersions (ours are revisions); an unparsable one counts as oldest. */
export function newerOrSame(a: string | undefined, b: string | undefined): boolean {
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x)) return false;
  if (!Number.isFinite(y)) return true;
  return x >= y;
}
