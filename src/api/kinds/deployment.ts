// apps/v1 Deployment and ReplicaSet: upstream SetDefaults_Deployment/_ReplicaSet, the deployment and
// replicaset strategies (status cleared on create, selector immutable in apps/v1) and printers.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { type FieldError, forbidden, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { formatRequirements } from '../labels.js';
import { formatAge } from '../names.js';
import type { KindInfo, TableCell } from '../types.js';
import { type Obj, isObj, bool, jsonEqual } from './checks.js';
import { defaultPodTemplateSpec } from './podspec.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  SELECTOR_COLUMN,
  child,
  containerCells,
  immutable,
  intOrPercentValue,
  nonNegativeField,
  notMoreThan100Percent,
  num,
  selectorCell,
  selectorRequirements,
  specOf,
  statusOf,
  validatePositiveIntOrPercent,
  validateTemplateForReplicaSet,
  validateWorkloadSelector,
  nonNegativeStatus,
} from './workload-common.js';

const unset = (v: unknown) => v === undefined || v === null;
const zero = (v: unknown) => unset(v) || v === '';

/** Upstream's pod template defaults for any workload with a `spec.template`. */
export function defaultTemplateOf(spec: Obj): void {
  if (isObj(spec.template)) defaultPodTemplateSpec(spec.template as PodTemplateSpec);
}

/** Go's Semantic.DeepEqual of two maps: absent and empty are the same. */
export const sameMap = (a: unknown, b: unknown) => jsonEqual(a ?? {}, b ?? {});

// ---------------------------------------------------------------------------------------------
// Deployment

function defaultDeployment(d: Deployment): void {
  const spec = child(d as Obj, 'spec');
  if (!spec) return;
  if (unset(spec.replicas)) spec.replicas = 1;
  const strategy = child(spec, 'strategy');
  if (strategy) {
    if (zero(strategy.type)) strategy.type = 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') {
      const ru = child(strategy, 'rollingUpdate');
      if (ru) {
        if (unset(ru.maxUnavailable)) ru.maxUnavailable = '25%';
        if (unset(ru.maxSurge)) ru.maxSurge = '25%';
      }
    }
  }
  if (unset(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  if (unset(spec.progressDeadlineSeconds)) spec.progressDeadlineSeconds = 600;
  defaultTemplateOf(spec);
}

function validateDeploymentStrategy(strategy: unknown, path: string): FieldError[] {
  if (!isObj(strategy)) return unset(strategy) ? [notSupported(path, {}, ['Recreate', 'RollingUpdate'])] : [typeInvalid(path, strategy, 'must be of type object')];
  const ru = strategy.rollingUpdate;
  switch (strategy.type) {
    case 'Recreate':
      return unset(ru) ? [] : [forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'")];
    case 'RollingUpdate': {
      if (unset(ru)) return [required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil')];
      if (!isObj(ru)) return [typeInvalid(`${path}.rollingUpdate`, ru, 'must be of type object')];
      const p = `${path}.rollingUpdate`;
      const errs = [...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`), ...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`)];
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0)
        errs.push(invalidValue(`${p}.maxUnavailable`, ru.maxUnavailable ?? null, 'may not be 0 when `maxSurge` is 0'));
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      return errs;
    }
    default:
      return [notSupported(path, strategy, ['Recreate', 'RollingUpdate'])];
  }
}

/** upstream ValidateDeploymentSpec. */
function validateDeployment(d: Deployment): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(d);
  nonNegativeField(spec.replicas, 'spec.replicas', errs);
  errs.push(...validateWorkloadSelector(spec.selector, 'spec.selector', 'deployment'));
  errs.push(...validateTemplateForReplicaSet(spec.template, spec.selector, 'spec', 'ReplicaSet'));
  errs.push(...validateDeploymentStrategy(spec.strategy, 'spec.strategy'));
  const minReady = nonNegativeField(spec.minReadySeconds, 'spec.minReadySeconds', errs) ?? 0;
  nonNegativeField(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs);
  bool(spec.paused, 'spec.paused', errs);
  const pds = nonNegativeField(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds', errs);
  if (pds !== undefined && pds <= minReady) errs.push(invalidValue('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'));
  return errs;
}

/** The wide SELECTOR cell of deployments: the parsed selector's string ('' when missing or empty). */
function deploymentSelectorCell(sel: unknown): string {
  if (unset(sel)) return '';
  const reqs = selectorRequirements(sel);
  return reqs ? formatRequirements(reqs) : '<invalid>';
}

export function deploymentRow(d: Deployment, now: number): TableCell[] {
  const spec = specOf(d);
  const status = statusOf(d);
  return [
    d.metadata?.name ?? '',
    `${num(status.readyReplicas)}/${num(spec.replicas)}`,
    num(status.updatedReplicas),
    num(status.availableReplicas),
    formatAge(d.metadata?.creationTimestamp, now),
    ...containerCells(spec.template),
    deploymentSelectorCell(spec.selector),
  ];
}

export const deploymentKind: KindInfo<Deployment> = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  resource: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  generation: true,
  subresources: {
    status: true,
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' },
  },
  strategy: {
    defaults: defaultDeployment,
    prepareForCreate(d) {
      (d as Obj).status = {};
    },
    prepareForUpdate(d, old) {
      // annotations are copied to the ReplicaSets, so changing them is a new generation too
      if (!sameMap(d.metadata?.annotations, old.metadata?.annotations) && d.metadata)
        (d.metadata as { generation?: number }).generation = (old.metadata?.generation ?? 0) + 1;
    },
    validate: validateDeployment,
    validateUpdate: (d, old) => immutable(specOf(d).selector, specOf(old).selector, 'spec.selector'),
    validateStatusUpdate: nonNegativeStatus('replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount'),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', priority: 0 },
        { name: 'Up-to-date', type: 'string', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', priority: 0 },
        { name: 'Available', type: 'string', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        SELECTOR_COLUMN,
      ],
      row: deploymentRow,
    },
  },
};

// ---------------------------------------------------------------------------------------------
// ReplicaSet

function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(rs);
  nonNegativeField(spec.replicas, 'spec.replicas', errs);
  nonNegativeField(spec.minReadySeconds, 'spec.minReadySeconds', errs);
  // upstream's message really says "deployment" here
  errs.push(...validateWorkloadSelector(spec.selector, 'spec.selector', 'deployment'));
  errs.push(...validateTemplateForReplicaSet(spec.template, spec.selector, 'spec', 'ReplicaSet'));
  return errs;
}

export function replicaSetRow(rs: ReplicaSet, now: number): TableCell[] {
  const spec = specOf(rs);
  const status = statusOf(rs);
  return [
    rs.metadata?.name ?? '',
    num(spec.replicas),
    num(status.replicas),
    num(status.readyReplicas),
    formatAge(rs.metadata?.creationTimestamp, now),
    ...containerCells(spec.template),
    selectorCell(spec.selector),
  ];
}

export const replicaSetKind: KindInfo<ReplicaSet> = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  resource: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  generation: true,
  subresources: {
    status: true,
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' },
  },
  strategy: {
    defaults(rs) {
      const spec = child(rs as Obj, 'spec');
      if (!spec) return;
      if (unset(spec.replicas)) spec.replicas = 1;
      defaultTemplateOf(spec);
    },
    prepareForCreate(rs) {
      (rs as Obj).status = { replicas: 0 };
    },
    validate: validateReplicaSet,
    validateUpdate: (rs, old) => immutable(specOf(rs).selector, specOf(old).selector, 'spec.selector'),
    validateStatusUpdate: nonNegativeStatus('replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'),
    selectableFields: (rs) => ({ 'status.replicas': String(num(statusOf(rs).replicas)) }),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired replicas.', priority: 0 },
        { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of replicas.', priority: 0 },
        { name: 'Ready', type: 'integer', description: 'The number of ready replicas for this replica set.', priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        { ...SELECTOR_COLUMN, description: 'Selector is a label query over pods that should match the replica count.' },
      ],
      row: replicaSetRow,
    },
  },
};
