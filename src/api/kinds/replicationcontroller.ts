// core/v1 ReplicationController: upstream SetDefaults_ReplicationController, the rc strategy (status
// cleared on create, selector mutable), ValidateReplicationControllerSpec and the printer.
import type { PodTemplateSpec, ReplicationController } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { formatAge } from '../names.js';
import type { KindInfo, KubeObject, TableCell } from '../types.js';
import { type Obj, isObj } from './checks.js';
import { defaultPodTemplateSpec, validatePodTemplateSpec } from './podspec.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  SELECTOR_COLUMN,
  containerCells,
  formatLabelMap,
  nonNegativeField,
  num,
  selectorMismatch,
  specOf,
  statusOf,
  templateLabelsOf,
  nonNegativeStatus,
} from './workload-common.js';

const unset = (v: unknown) => v === undefined || v === null;

/** The string-valued entries of a label map (others are reported by validation). */
function stringMap(m: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(m)) for (const [k, v] of Object.entries(m)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** upstream labels.SelectorFromSet(sel).String(): `k=v` sorted by key, '' when empty. */
export function mapSelectorString(sel: unknown): string {
  const m = stringMap(sel);
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${m[k]}`)
    .join(',');
}

function defaultReplicationController(rc: ReplicationController): void {
  const o = rc as unknown as Obj;
  if (unset(o.spec)) o.spec = {};
  const spec = o.spec;
  if (!isObj(spec)) return;
  const template = spec.template;
  const labels = isObj(template) && isObj(template.metadata) ? template.metadata.labels : undefined;
  // a present template label map (even an empty one) is what upstream copies
  if (isObj(labels)) {
    if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    if (unset(o.metadata)) o.metadata = {};
    const meta = o.metadata;
    if (isObj(meta) && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0)) meta.labels = { ...labels };
  }
  if (unset(spec.replicas)) spec.replicas = 1;
  if (isObj(template)) defaultPodTemplateSpec(template as PodTemplateSpec);
}

const READ_ONLY_PD_MSG = 'must be true for replicated pods > 1; GCE PD can only be mounted on multiple machines if it is read-only';

/** upstream ValidatePodTemplateSpecForRC. */
function validateTemplateForRC(template: unknown, selector: Record<string, string>, replicas: number, path: string): FieldError[] {
  if (unset(template)) return [required(path)];
  const errs: FieldError[] = [];
  const wanted = Object.entries(selector);
  if (wanted.length > 0) {
    const labels = templateLabelsOf(template);
    if (!wanted.every(([k, v]) => labels[k] === v)) errs.push(selectorMismatch(path, template));
  }
  errs.push(...validatePodTemplateSpec(template as PodTemplateSpec, path));
  if (!isObj(template)) return errs;
  const spec = isObj(template.spec) ? template.spec : {};
  if (replicas > 1 && Array.isArray(spec.volumes)) {
    spec.volumes.forEach((v, i) => {
      if (isObj(v) && isObj(v.gcePersistentDisk) && v.gcePersistentDisk.readOnly !== true)
        errs.push(invalidValue(`${path}.spec.volumes[${i}].gcePersistentDisk.readOnly`, false, READ_ONLY_PD_MSG));
    });
  }
  if (spec.restartPolicy !== 'Always') errs.push(notSupported(`${path}.spec.restartPolicy`, spec.restartPolicy ?? '', ['Always']));
  if (!unset(spec.activeDeadlineSeconds)) errs.push(invalidValue(`${path}.spec.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must not be specified'));
  return errs;
}

/** upstream ValidateReplicationControllerSpec. */
export function validateReplicationController(rc: ReplicationController): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(rc);
  nonNegativeField(spec.minReadySeconds, 'spec.minReadySeconds', errs);
  const sel = spec.selector;
  if (!unset(sel) && !isObj(sel)) errs.push(typeInvalid('spec.selector', sel, 'must be of type object'));
  else if (isObj(sel))
    for (const [k, v] of Object.entries(sel)) if (typeof v !== 'string') errs.push(typeInvalid(`spec.selector[${k}]`, v, 'must be of type string'));
  const selector = stringMap(sel);
  if (Object.keys(selector).length === 0) errs.push(required('spec.selector'));
  const replicas = nonNegativeField(spec.replicas, 'spec.replicas', errs) ?? 0;
  errs.push(...validateTemplateForRC(spec.template, selector, replicas, 'spec.template'));
  return errs;
}

export function replicationControllerRow(rc: ReplicationController, now: number): TableCell[] {
  const spec = specOf(rc);
  const status = statusOf(rc);
  return [
    rc.metadata?.name ?? '',
    num(spec.replicas),
    num(status.replicas),
    num(status.readyReplicas),
    formatAge(rc.metadata?.creationTimestamp, now),
    ...containerCells(spec.template),
    formatLabelMap(spec.selector),
  ];
}

export const replicationControllerKind: KindInfo<ReplicationController> = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  resource: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  generation: true,
  subresources: {
    status: true,
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.spec.selector',
      selector: (obj: KubeObject) => mapSelectorString(specOf(obj).selector),
    },
  },
  strategy: {
    defaults: defaultReplicationController,
    prepareForCreate(rc) {
      (rc as unknown as Obj).status = { replicas: 0 };
    },
    validate: validateReplicationController,
    validateStatusUpdate: nonNegativeStatus('replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'),
    selectableFields: (rc) => ({ 'status.replicas': String(num(statusOf(rc).replicas)) }),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired replicas.', priority: 0 },
        { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of replicas.', priority: 0 },
        { name: 'Ready', type: 'integer', description: 'The number of ready replicas for this replication controller.', priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        { ...SELECTOR_COLUMN, description: 'Selector is a label query over pods that should match the Replicas count.' },
      ],
      row: replicationControllerRow,
    },
  },
};
