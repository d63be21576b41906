// apps/v1 StatefulSet: upstream SetDefaults_StatefulSet (+ the claim-template defaults), the statefulset
// strategy (names are DNS labels; only some spec fields may change) and printer.
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import { type FieldError, forbidden, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { labelsMatch } from '../labels.js';
import { formatAge } from '../names.js';
import type { KindInfo, TableCell } from '../types.js';
import { type Obj, isObj, clone, jsonEqual } from './checks.js';
import { validatePodSpecificAnnotations } from './podspec.js';
import { validateAnnotations, validateLabels, nameIsDNSLabel } from '../validation.js';
import { defaultTemplateOf } from './deployment.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  child,
  containerCells,
  intOrPercentValue,
  nonNegativeField,
  notMoreThan100Percent,
  num,
  selectorMismatch,
  selectorRequirements,
  specOf,
  templateLabelsOf,
  validateAlwaysRestartTemplate,
  validatePositiveIntOrPercent,
  validateWorkloadSelector,
  nonNegativeStatus,
} from './workload-common.js';

const unset = (v: unknown) => v === undefined || v === null;
const zero = (v: unknown) => unset(v) || v === '';

function defaultStatefulSet(sts: StatefulSet): void {
  const spec = child(sts as Obj, 'spec');
  if (!spec) return;
  if (zero(spec.podManagementPolicy)) spec.podManagementPolicy = 'OrderedReady';
  const us = child(spec, 'updateStrategy');
  if (us) {
    if (zero(us.type)) {
      us.type = 'RollingUpdate';
      if (unset(us.rollingUpdate)) us.rollingUpdate = {};
    }
    if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate) && unset(us.rollingUpdate.partition)) us.rollingUpdate.partition = 0;
  }
  const retention = child(spec, 'persistentVolumeClaimRetentionPolicy');
  if (retention) {
    if (zero(retention.whenDeleted)) retention.whenDeleted = 'Retain';
    if (zero(retention.whenScaled)) retention.whenScaled = 'Retain';
  }
  if (unset(spec.replicas)) spec.replicas = 1;
  if (unset(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  defaultTemplateOf(spec);
  if (Array.isArray(spec.volumeClaimTemplates))
    for (const claim of spec.volumeClaimTemplates) {
      if (!isObj(claim)) continue;
      // what the apps/v1 conversion and SetDefaults_PersistentVolumeClaim(Spec) leave on each template
      if (zero(claim.apiVersion)) claim.apiVersion = 'v1';
      if (zero(claim.kind)) claim.kind = 'PersistentVolumeClaim';
      const cs = child(claim, 'spec');
      if (cs && unset(cs.volumeMode)) cs.volumeMode = 'Filesystem';
      const st = child(claim, 'status');
      if (st && zero(st.phase)) st.phase = 'Pending';
    }
}

function validateRetentionPolicy(v: unknown, path: string): FieldError[] {
  if (unset(v)) return [];
  if (!isObj(v)) return [typeInvalid(path, v, 'must be of type object')];
  const errs: FieldError[] = [];
  for (const k of ['whenDeleted', 'whenScaled']) if (v[k] !== 'Retain' && v[k] !== 'Delete') errs.push(notSupported(`${path}.${k}`, v[k] ?? '', ['Retain', 'Delete']));
  return errs;
}

function validateUpdateStrategy(us: unknown, path: string): FieldError[] {
  const s = isObj(us) ? us : {};
  const ru = s.rollingUpdate;
  switch (s.type) {
    case undefined:
    case null:
    case '':
      return [required(path)];
    case 'OnDelete':
      return unset(ru) ? [] : [invalidValue(`${path}.rollingUpdate`, ru, "only allowed for updateStrategy 'RollingUpdate'")];
    case 'RollingUpdate': {
      if (unset(ru)) return [];
      if (!isObj(ru)) return [typeInvalid(`${path}.rollingUpdate`, ru, 'must be of type object')];
      const errs: FieldError[] = [];
      const p = `${path}.rollingUpdate`;
      nonNegativeField(ru.partition, `${p}.partition`, errs);
      if (!unset(ru.maxUnavailable)) {
        errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
        if (intOrPercentValue(ru.maxUnavailable) === 0) errs.push(invalidValue(`${p}.maxUnavailable`, ru.maxUnavailable, 'cannot be 0'));
        errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      }
      return errs;
    }
    default:
      return [invalidValue(path, us, "must be 'RollingUpdate' or 'OnDelete'")];
  }
}

/**
 * upstream ValidateStatefulSetSpec. Like upstream, the pod spec of the template is not validated (its
 * volume mounts may name claim templates); only its labels, annotations and restart policy are.
 */
function validateStatefulSet(sts: StatefulSet): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(sts);
  const pmp = spec.podManagementPolicy;
  if (zero(pmp)) errs.push(required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') errs.push(invalidValue('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  errs.push(...validateUpdateStrategy(spec.updateStrategy, 'spec.updateStrategy'));
  errs.push(...validateRetentionPolicy(spec.persistentVolumeClaimRetentionPolicy, 'spec.persistentVolumeClaimRetentionPolicy'));
  nonNegativeField(spec.replicas, 'spec.replicas', errs);
  nonNegativeField(spec.minReadySeconds, 'spec.minReadySeconds', errs);
  nonNegativeField(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs);
  if (isObj(spec.ordinals)) nonNegativeField(spec.ordinals.start, 'spec.ordinals.start', errs);
  errs.push(...validateWorkloadSelector(spec.selector, 'spec.selector', 'statefulset'));

  const template = isObj(spec.template) ? spec.template : {};
  const reqs = selectorRequirements(spec.selector);
  if (isObj(spec.selector) && !reqs) errs.push(invalidValue('spec.selector', spec.selector, ''));
  else if (!reqs || (reqs.length > 0 && !labelsMatch(reqs, templateLabelsOf(template)))) errs.push(selectorMismatch('spec.template', template));
  const meta = isObj(template.metadata) ? template.metadata : {};
  errs.push(...validateLabels(meta.labels, 'spec.template.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'spec.template.annotations'));
  errs.push(...validatePodSpecificAnnotations(meta.annotations, template.spec, 'spec.template.annotations'));
  errs.push(...validateAlwaysRestartTemplate(template, 'spec.template', 'StatefulSet'));
  return errs;
}

/** Fields of a StatefulSet spec an update may change; everything else is fixed at creation. */
const MUTABLE_SPEC_FIELDS = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

function validateStatefulSetUpdate(sts: StatefulSet, old: StatefulSet): FieldError[] {
  const next = clone(specOf(sts));
  const prev = specOf(old);
  for (const k of MUTABLE_SPEC_FIELDS) {
    if (k in prev) next[k] = prev[k];
    else delete next[k];
  }
  if (jsonEqual(next, prev)) return [];
  return [
    forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export function statefulSetRow(sts: StatefulSet, now: number): TableCell[] {
  const spec = specOf(sts);
  const status = isObj(sts.status) ? (sts.status as Obj) : {};
  return [sts.metadata?.name ?? '', `${num(status.readyReplicas)}/${num(spec.replicas)}`, formatAge(sts.metadata?.creationTimestamp, now), ...containerCells(spec.template)];
}

export const statefulSetKind: KindInfo<StatefulSet> = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  resource: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  generation: true,
  nameValidator: nameIsDNSLabel,
  subresources: {
    status: true,
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' },
  },
  strategy: {
    defaults: defaultStatefulSet,
    prepareForCreate(sts) {
      (sts as Obj).status = { replicas: 0, availableReplicas: 0 };
    },
    validate: validateStatefulSet,
    validateUpdate: validateStatefulSetUpdate,
    validateStatusUpdate: nonNegativeStatus('replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'collisionCount'),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
      ],
      row: statefulSetRow,
    },
  },
};
