// storage.k8s.io/v1 StorageClass.
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { type FieldError, duplicate, forbidden, invalidValue, notSupported, required, tooLong, typeInvalid } from '../errors.js';
import { formatAge } from '../names.js';
import { deepEqual, isPlainObject } from '../object.js';
import type { KindInfo, KubeObject } from '../types.js';
import { qualifiedNameErrors } from '../validation.js';

type StorageClassObject = StorageClass & KubeObject;

export const ANNOTATION_IS_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANNOTATION_BETA_IS_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

/** Whether the class is marked as the cluster default (GA or beta annotation set to "true"). */
export function isDefaultStorageClass(sc: { metadata?: { annotations?: Record<string, string> } }): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[ANNOTATION_IS_DEFAULT_CLASS] === 'true' || a[ANNOTATION_BETA_IS_DEFAULT_CLASS] === 'true';
}

const RECLAIM_POLICIES = ['Delete', 'Retain'];
const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];
const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_SIZE = 256 * 1024;

function validateParameters(params: unknown, errs: FieldError[]): void {
  if (params === undefined || params === null) return;
  if (!isPlainObject(params)) return void errs.push(typeInvalid('parameters', params, 'must be a map of string keys to string values'));
  const entries = Object.entries(params);
  if (entries.length > MAX_PARAMETERS) return void errs.push(tooLong('parameters', '', MAX_PARAMETERS));
  let size = 0;
  for (const [k, v] of entries) {
    if (k.length < 1) errs.push(invalidValue('parameters', k, 'field can not be empty.'));
    if (typeof v !== 'string') errs.push(typeInvalid(`parameters.${k}`, v, 'must be of type string'));
    else size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > MAX_PARAMETERS_SIZE) errs.push(tooLong('parameters', '', MAX_PARAMETERS_SIZE));
}

/** Upstream ValidateTopologySelectorTerm for each term, plus the duplicate-term check. */
function validateAllowedTopologies(terms: unknown, errs: FieldError[]): void {
  if (terms === undefined || terms === null) return;
  if (!Array.isArray(terms)) return void errs.push(typeInvalid('allowedTopologies', terms, 'must be of type array'));
  const seen: string[] = [];
  terms.forEach((term: unknown, i) => {
    const tp = `allowedTopologies[${i}]`;
    if (!isPlainObject(term)) return void errs.push(typeInvalid(tp, term, 'must be of type object'));
    const exprs = term.matchLabelExpressions ?? [];
    if (!Array.isArray(exprs)) return void errs.push(typeInvalid(`${tp}.matchLabelExpressions`, exprs, 'must be of type array'));
    const byKey = new Map<string, string[]>();
    exprs.forEach((req: unknown, j) => {
      const rp = `${tp}.matchLabelExpressions[${j}]`;
      if (!isPlainObject(req)) return void errs.push(typeInvalid(rp, req, 'must be of type object'));
      const values = req.values ?? [];
      const set = new Set<string>();
      if (!Array.isArray(values)) {
        errs.push(typeInvalid(`${rp}.values`, values, 'must be of type array'));
      } else {
        if (values.length === 0) errs.push(required(`${rp}.values`));
        values.forEach((v: unknown, k) => {
          if (typeof v !== 'string') return void errs.push(typeInvalid(`${rp}.values[${k}]`, v, 'must be of type string'));
          if (set.has(v)) errs.push(duplicate(`${rp}.values[${k}]`, v));
          set.add(v);
        });
      }
      const key = req.key;
      if (typeof key !== 'string') return void errs.push(typeInvalid(`${rp}.key`, key, 'must be of type string'));
      for (const m of qualifiedNameErrors(key)) errs.push(invalidValue(`${rp}.key`, key, m));
      if (byKey.has(key)) errs.push(duplicate(`${rp}.key`, key));
      byKey.set(key, [...set].sort());
    });
    const canonical = JSON.stringify([...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (seen.includes(canonical)) errs.push(duplicate(`${tp}.matchLabelExpressions`, ''));
    seen.push(canonical);
  });
}

export const storageClassKind: KindInfo<StorageClassObject> = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  resource: 'storageclasses',
  singular: 'storageclass',
  namespaced: false,
  shortNames: ['sc'],
  strategy: {
    defaults(sc) {
      if (sc.reclaimPolicy === undefined || sc.reclaimPolicy === null) sc.reclaimPolicy = 'Delete';
      if (sc.volumeBindingMode === undefined || sc.volumeBindingMode === null) sc.volumeBindingMode = 'Immediate';
    },
    validate(sc) {
      const errs: FieldError[] = [];
      const prov = sc.provisioner as unknown;
      if (prov !== undefined && prov !== null && typeof prov !== 'string') errs.push(typeInvalid('provisioner', prov, 'must be of type string'));
      else if (!prov) errs.push(required('provisioner'));
      else for (const m of qualifiedNameErrors(prov.toLowerCase())) errs.push(invalidValue('provisioner', prov.toLowerCase(), m));
      validateParameters(sc.parameters, errs);
      const rp = sc.reclaimPolicy as unknown;
      if (rp !== undefined && rp !== null && rp !== '' && (typeof rp !== 'string' || !RECLAIM_POLICIES.includes(rp)))
        errs.push(notSupported('reclaimPolicy', rp, RECLAIM_POLICIES));
      if (sc.allowVolumeExpansion !== undefined && sc.allowVolumeExpansion !== null && typeof sc.allowVolumeExpansion !== 'boolean')
        errs.push(typeInvalid('allowVolumeExpansion', sc.allowVolumeExpansion, 'must be of type boolean'));
      const mode = sc.volumeBindingMode as unknown;
      if (mode === undefined || mode === null) errs.push(required('volumeBindingMode'));
      else if (typeof mode !== 'string' || !BINDING_MODES.includes(mode)) errs.push(notSupported('volumeBindingMode', mode, BINDING_MODES));
      validateAllowedTopologies(sc.allowedTopologies, errs);
      return errs;
    },
    validateUpdate(sc, old) {
      const errs: FieldError[] = [];
      if (!deepEqual(sc.parameters ?? {}, old.parameters ?? {})) errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
      if (sc.provisioner !== old.provisioner) errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
      if (sc.reclaimPolicy !== old.reclaimPolicy) errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
      if (sc.volumeBindingMode !== old.volumeBindingMode) errs.push(invalidValue('volumeBindingMode', sc.volumeBindingMode, 'field is immutable'));
      return errs;
    },
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Provisioner', type: 'string', description: 'The provisioner (volume plugin) that provisions volumes of this class.', priority: 0 },
        { name: 'ReclaimPolicy', type: 'string', description: 'What happens to volumes of this class when released: Delete or Retain.', priority: 0 },
        { name: 'VolumeBindingMode', type: 'string', description: 'When volumes are provisioned and bound: Immediate or WaitForFirstConsumer.', priority: 0 },
        { name: 'AllowVolumeExpansion', type: 'string', description: 'Whether volumes of this class may be expanded.', priority: 0 },
        { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
      ],
      row: (sc, now) => [
        (sc.metadata?.name ?? '') + (isDefaultStorageClass(sc) ? ' (default)' : ''),
        typeof sc.provisioner === 'string' ? sc.provisioner : '',
        typeof sc.reclaimPolicy === 'string' ? sc.reclaimPolicy : 'Delete',
        typeof sc.volumeBindingMode === 'string' ? sc.volumeBindingMode : 'Immediate',
        sc.allowVolumeExpansion === true,
        formatAge(sc.metadata?.creationTimestamp, now),
      ],
    },
  },
};
