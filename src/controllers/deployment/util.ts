// Pure Deployment arithmetic (upstream pkg/controller/deployment/util and controller_utils): template
// hashes, revisions and their annotations, surge/unavailable fenceposts, ReplicaSet orderings,
// conditions and the status computed from a Deployment's ReplicaSets.
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetCondition } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../../api/names.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const ROLLBACK_TO_ANNOTATION = 'deprecated.deployment.rollback.to';
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** How long the revision-history annotation may grow (upstream default). */
export const MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000;
const MAX_INT32 = 2147483647;

/** Condition reasons, as upstream names them. */
export const Reason = {
  NewReplicaSet: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  TimedOut: 'ProgressDeadlineExceeded',
  FailedReplicaSetCreate: 'ReplicaSetCreateError',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

const ANNOTATIONS_NOT_COPIED = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  ROLLBACK_TO_ANNOTATION,
]);

// ---- template hash ----

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** upstream rand.SafeEncodeString: each character mapped into the vowel-free alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.codePointAt(0)! % SAFE_ALPHABET.length];
  return out;
}

/** 32-bit FNV-1a over `bytes`, continuing from `hash`. */
export function fnv32a(bytes: Uint8Array, hash = 0x811c9dc5): number {
  let h = hash >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Empty objects that still mean something (a volume source with all defaults). */
const MEANINGFUL_EMPTY = new Set(['emptyDir']);

/**
 * An object without what does not change its meaning: nulls, empty lists and empty maps (Go's
 * semantic equality treats nil and empty alike), keys sorted. Templates are hashed and compared so.
 */
export function canonicalForm(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) {
    return v.length ? v.map((x) => canonicalForm(x) ?? null) : undefined;
  }
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) {
    const c = canonicalForm((v as Record<string, unknown>)[k], k);
    if (c !== undefined) out[k] = c;
  }
  return Object.keys(out).length || MEANINGFUL_EMPTY.has(key) ? out : undefined;
}

/**
 * The pod-template-hash of a template (upstream controller.ComputeHash): FNV-32a over the template,
 * then the collision count as 8 little-endian bytes, printed in decimal and safe-encoded. The
 * template is serialized as canonical JSON rather than Go's spew dump, so values differ from a real
 * cluster's, but they are stable: the same template always gives the same hash.
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(JSON.stringify(canonicalForm(template ?? {}) ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(buf, h);
  }
  return safeEncodeString(String(h));
}

/** Two templates are the same apart from their pod-template-hash label (upstream EqualIgnoreHash). */
export function equalIgnoreHash(t1: PodTemplateSpec | undefined, t2: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = structuredClone(t ?? {});
    if (c.metadata?.labels) delete c.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    return JSON.stringify(canonicalForm(c) ?? {});
  };
  return strip(t1) === strip(t2);
}

// ---- fenceposts ----

/** upstream intstr.GetScaledValueFromIntOrPercent */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const pct = Number(m[1]);
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

/** Surge rounds up, unavailable rounds down; both zero means one may be unavailable. */
export function resolveFenceposts(maxSurge: number | string | undefined, maxUnavailable: number | string | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export const replicasOf = (d: Deployment): number => d.spec?.replicas ?? 1;
export const isRollingUpdate = (d: Deployment): boolean => d.spec?.strategy?.type !== 'Recreate';

export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge ?? '25%', ru?.maxUnavailable ?? '25%', replicasOf(d)).surge;
}

export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate;
  const { unavailable } = resolveFenceposts(ru?.maxSurge ?? '25%', ru?.maxUnavailable ?? '25%', replicas);
  return Math.min(unavailable, replicas);
}

// ---- ReplicaSet counts and orderings ----

export const rsReplicas = (rs: ReplicaSet): number => rs.spec?.replicas ?? 1;
const sum = (rss: (ReplicaSet | undefined)[], f: (rs: ReplicaSet) => number) => rss.reduce((n, rs) => n + (rs ? f(rs) : 0), 0);
/** spec.replicas of all */
export const replicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, rsReplicas);
/** status.replicas of all */
export const actualReplicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.status?.replicas ?? 0);
export const readyReplicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.status?.readyReplicas ?? 0);
export const availableReplicaCount = (rss: (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.status?.availableReplicas ?? 0);

export const filterActive = (rss: (ReplicaSet | undefined)[]): ReplicaSet[] => rss.filter((rs): rs is ReplicaSet => !!rs && rsReplicas(rs) > 0);

const created = (rs: ReplicaSet) => {
  const t = Date.parse(rs.metadata?.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
};

/** Oldest first, then by name. */
export function byCreationTimestamp(a: ReplicaSet, b: ReplicaSet): number {
  const d = created(a) - created(b);
  if (d) return d;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Largest first; among equals the older first (scaling down). */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet): number => rsReplicas(b) - rsReplicas(a) || byCreationTimestamp(a, b);
/** Largest first; among equals the newer first (scaling up). */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet): number => rsReplicas(b) - rsReplicas(a) || byCreationTimestamp(b, a);

/** The revision annotation as a number: 0 when absent, NaN when unparseable. */
export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number {
  const v = obj.metadata?.annotations?.[REVISION_ANNOTATION];
  if (v === undefined) return 0;
  return /^-?\d+$/.test(v) ? Number(v) : NaN;
}

const revisionOrZero = (rs: ReplicaSet) => {
  const r = revisionOf(rs);
  return Number.isNaN(r) ? 0 : r;
};

/** Lowest revision first, then oldest. */
export const byRevision = (a: ReplicaSet, b: ReplicaSet): number => revisionOrZero(a) - revisionOrZero(b) || byCreationTimestamp(a, b);

export function maxRevision(rss: ReplicaSet[]): number {
  let max = 0;
  for (const rs of rss) {
    const r = revisionOf(rs);
    if (!Number.isNaN(r) && r > max) max = r;
  }
  return max;
}

/** The oldest ReplicaSet whose template is the Deployment's (upstream FindNewReplicaSet). */
export function findNewReplicaSet(d: Deployment, rss: ReplicaSet[]): ReplicaSet | undefined {
  return [...rss].sort(byCreationTimestamp).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Every ReplicaSet but the new one. */
export function findOldReplicaSets(d: Deployment, rss: ReplicaSet[]): ReplicaSet[] {
  const newRS = findNewReplicaSet(d, rss);
  return rss.filter((rs) => !newRS || rs.metadata?.uid !== newRS.metadata?.uid);
}

// ---- annotations ----

function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata?.annotations?.[key];
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number(v);
}

export const desiredReplicasAnnotation = (rs: ReplicaSet) => intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
export const maxReplicasAnnotation = (rs: ReplicaSet) => intAnnotation(rs, MAX_REPLICAS_ANNOTATION);

/** Sets desired-replicas and max-replicas; true when something changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const meta = (rs.metadata ??= {});
  const a = (meta.annotations ??= {});
  const d = String(desired);
  const m = String(max);
  if (a[DESIRED_REPLICAS_ANNOTATION] === d && a[MAX_REPLICAS_ANNOTATION] === m) return false;
  a[DESIRED_REPLICAS_ANNOTATION] = d;
  a[MAX_REPLICAS_ANNOTATION] = m;
  return true;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = rs.metadata?.annotations ?? {};
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
}

/** Copies the Deployment's own annotations (not the controller's) to the ReplicaSet; true when something changed. */
function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  const a = ((rs.metadata ??= {}).annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (ANNOTATIONS_NOT_COPIED.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * upstream SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision to
 * `newRevision` (keeping the old one in revision-history when an old ReplicaSet comes back), and for
 * a ReplicaSet about to be created sets desired-replicas / max-replicas. True when something changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: string, exists: boolean, historyLimitChars = MAX_REV_HISTORY_LENGTH_IN_CHARS): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = rs.metadata!.annotations!;
  const hadRevision = Object.prototype.hasOwnProperty.call(a, REVISION_ANNOTATION);
  const oldRevision = a[REVISION_ANNOTATION] ?? '';
  let oldRevisionInt = 0;
  if (oldRevision !== '') {
    if (!/^-?\d+$/.test(oldRevision)) return false;
    oldRevisionInt = Number(oldRevision);
  }
  if (!/^-?\d+$/.test(newRevision)) return false;
  const newRevisionInt = Number(newRevision);
  if (oldRevisionInt < newRevisionInt) {
    a[REVISION_ANNOTATION] = newRevision;
    changed = true;
  }
  if (hadRevision && oldRevisionInt < newRevisionInt) {
    const history = a[REVISION_HISTORY_ANNOTATION] ?? '';
    const old = history.split(',');
    if (old[0].length === 0) {
      a[REVISION_HISTORY_ANNOTATION] = oldRevision;
    } else {
      let total = history.length + oldRevision.length + 1;
      let start = 0;
      while (total > historyLimitChars && start < old.length) {
        total -= old[start].length + 1;
        start++;
      }
      if (total <= historyLimitChars) a[REVISION_HISTORY_ANNOTATION] = [...old.slice(start), oldRevision].join(',');
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Sets the Deployment's revision annotation; true when it changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  const a = ((d.metadata ??= {}).annotations ??= {});
  if (a[REVISION_ANNOTATION] === revision) return false;
  a[REVISION_ANNOTATION] = revision;
  return true;
}

// ---- scaling ----

/** How many replicas the new ReplicaSet may have now (upstream NewRSNewReplicas). */
export function newRSNewReplicas(d: Deployment, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  const surge = scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
  const current = replicaCount(allRSs);
  const maxTotal = replicas + surge;
  if (current >= maxTotal) return rsReplicas(newRS);
  const up = Math.min(maxTotal - current, replicas - rsReplicas(newRS));
  return rsReplicas(newRS) + up;
}

/** The new ReplicaSet runs all replicas, all available (upstream IsSaturated). */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = desiredReplicasAnnotation(rs);
  if (desired === undefined) return false;
  const replicas = replicasOf(d);
  return rsReplicas(rs) === replicas && desired === replicas && (rs.status?.availableReplicas ?? 0) === replicas;
}

/** The only active ReplicaSet, or the newest when none is active; undefined when several are. */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreationTimestamp(b, a));
  const active = filterActive([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** upstream GetReplicaSetProportion: this ReplicaSet's share of `toAdd`, bounded by what is left. */
export function replicaSetProportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (rsReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -rsReplicas(rs);
  const deploymentMax = replicasOf(d) + maxSurge(d);
  let before = maxReplicasAnnotation(rs);
  if (before === undefined || before === 0) {
    before = d.status?.replicas ?? 0;
    if (before === 0) return 0;
  }
  const size = (rsReplicas(rs) * deploymentMax) / before;
  return roundHalfAway(size) - rsReplicas(rs);
}

/** Go's math.Round: halves away from zero. */
const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

// ---- conditions and status ----

export const hasProgressDeadline = (d: Deployment): boolean => d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== null && d.spec.progressDeadlineSeconds !== MAX_INT32;

export function getDeploymentCondition(status: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export function newDeploymentCondition(type: string, status: string, reason: string, message: string, now: number): DeploymentCondition {
  const t = nowRFC3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Replaces the condition of that type unless status and reason are unchanged; keeps the transition time when only the reason changed. */
export function setDeploymentCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const cur = getDeploymentCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  const next = { ...cond };
  if (cur && cur.status === cond.status) next.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeDeploymentCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (!status.conditions.length) delete status.conditions;
}

export function replicaSetToDeploymentCondition(c: ReplicaSetCondition): DeploymentCondition {
  return { type: c.type, status: c.status, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, reason: c.reason, message: c.message };
}

/** Go's omitempty for the status counts. */
function putCount(status: DeploymentStatus, key: 'observedGeneration' | 'replicas' | 'updatedReplicas' | 'readyReplicas' | 'availableReplicas' | 'unavailableReplicas', v: number): void {
  if (v) status[key] = v;
  else delete status[key];
}

/** upstream calculateStatus: counts from the ReplicaSets plus the Available condition. */
export function calculateStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: number): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const unavailable = Math.max(0, replicaCount(allRSs) - available);
  const status: DeploymentStatus = {};
  putCount(status, 'observedGeneration', d.metadata?.generation ?? 0);
  putCount(status, 'replicas', actualReplicaCount(allRSs));
  putCount(status, 'updatedReplicas', actualReplicaCount([newRS]));
  putCount(status, 'readyReplicas', readyReplicaCount(allRSs));
  putCount(status, 'availableReplicas', available);
  putCount(status, 'unavailableReplicas', unavailable);
  if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  if (d.status?.collisionCount !== undefined && d.status.collisionCount !== null) status.collisionCount = d.status.collisionCount;
  if (available >= replicasOf(d) - maxUnavailable(d))
    setDeploymentCondition(status, newDeploymentCondition('Available', 'True', Reason.MinimumReplicasAvailable, 'Deployment has minimum availability.', now));
  else setDeploymentCondition(status, newDeploymentCondition('Available', 'False', Reason.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', now));
  return status;
}

/** Every replica updated and available, and the latest spec observed. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** Something moved forward since the stored status (upstream DeploymentProgressing). */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** No progress reported for progressDeadlineSeconds (upstream DeploymentTimedOut). */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getDeploymentCondition(s, 'Progressing');
  if (!cond) return false;
  if (cond.reason === Reason.NewReplicaSetAvailable) return false;
  if (cond.reason === Reason.TimedOut) return true;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  if (!Number.isFinite(from)) return false;
  return from + d.spec!.progressDeadlineSeconds! * 1000 < now;
}

const COUNT_KEYS = ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'terminatingReplicas'];

/** Status equality as Go's DeepEqual of the typed struct sees it (an absent count is zero). */
export function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  const norm = (s: DeploymentStatus | undefined) => {
    const c: Record<string, unknown> = { ...(s ?? {}) };
    for (const k of COUNT_KEYS) if (!c[k]) delete c[k];
    return JSON.stringify(canonicalForm(c) ?? {});
  };
  return norm(a) === norm(b);
}
