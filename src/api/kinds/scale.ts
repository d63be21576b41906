// The autoscaling/v1 Scale of Deployments, ReplicaSets and StatefulSets (`<resource>/scale`), as upstream's
// scaleFromDeployment & co. build it, and the update a Scale write makes to its object.
import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Scale } from 'kubernetes-types/autoscaling/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { type FieldError, invalidValue, typeInvalid } from '../errors.js';
import { formatLabelSelector } from '../labels.js';
import { isObj, clone, IS_NEGATIVE_ERROR } from './checks.js';

export type ScalableWorkload = Deployment | ReplicaSet | StatefulSet;

const replicasOf = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) ? v : 0);

/** The Scale of a workload: spec.replicas, status.replicas and its selector in string form. */
export function scaleOf(obj: ScalableWorkload): Scale {
  const meta = obj.metadata ?? {};
  const sel = obj.spec?.selector;
  const scale: Scale = {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
      creationTimestamp: meta.creationTimestamp,
    },
    spec: { replicas: replicasOf(obj.spec?.replicas) },
    status: { replicas: replicasOf(obj.status?.replicas), selector: isObj(sel) ? formatLabelSelector(sel as LabelSelector) : '' },
  };
  return scale;
}

/** upstream ValidateScale (without the metadata checks every object gets). */
export function validateScale(scale: unknown): FieldError[] {
  const replicas = isObj(scale) && isObj(scale.spec) ? scale.spec.replicas : undefined;
  if (replicas === undefined || replicas === null) return [];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) return [typeInvalid('spec.replicas', replicas, 'must be of type integer')];
  return replicas < 0 ? [invalidValue('spec.replicas', replicas, IS_NEGATIVE_ERROR)] : [];
}

/**
 * The object after a Scale write: a copy with spec.replicas from the Scale; a resourceVersion in the Scale
 * becomes the object's, so it acts as the update's precondition (as upstream's scale update does).
 */
export function applyScale<T extends ScalableWorkload>(obj: T, scale: Scale): T {
  const next = clone(obj);
  const spec = ((next as { spec?: object }).spec ??= {}) as { replicas?: number };
  spec.replicas = replicasOf(scale.spec?.replicas);
  const rv = scale.metadata?.resourceVersion;
  if (rv) {
    const meta = (next.metadata ??= {}) as { resourceVersion?: string };
    meta.resourceVersion = rv;
  }
  return next;
}
