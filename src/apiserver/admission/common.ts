// What the admission plugins of this folder share: upstream's admission.NewForbidden, pod-spec access.
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import type { KindInfo, KubeObject } from '../../api/types.js';

/**
 * `<resource>[.<group>] "<name>" is forbidden: <why>` (403). On create the generated name is not yet
 * known upstream, so the generateName prefix is what the message names.
 */
export function admissionForbidden(op: string, info: KindInfo, obj: KubeObject | undefined, why: string): StatusError {
  const meta = obj?.metadata;
  const name = op === 'create' && meta?.generateName ? meta.generateName : (meta?.name ?? '');
  const gr = info.group ? `${info.resource}.${info.group}` : info.resource;
  return new StatusError(403, 'Forbidden', `${gr} "${name}" is forbidden: ${why}`, { name, group: info.group || undefined, kind: info.resource });
}

/** Go's utilerrors.NewAggregate(...).Error(): one message alone, several as `[a, b]`. */
export const aggregate = (msgs: readonly string[]) => (msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`);

export const isCorePods = (info: KindInfo) => info.group === '' && info.resource === 'pods';

export const podSpecOf = (obj: KubeObject | undefined): PodSpec | undefined => {
  const spec = obj?.spec;
  return spec && typeof spec === 'object' && !Array.isArray(spec) ? (spec as PodSpec) : undefined;
};
