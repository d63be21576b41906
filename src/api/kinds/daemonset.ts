// apps/v1 DaemonSet: upstream SetDefaults_DaemonSet, the daemonset strategy (status cleared on create,
// the template generation kept in the `deprecated.daemonset.template.generation` annotation as apps/v1
// carries it, selector immutable) and printer.
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { validateLabelSelector } from '../labels.js';
import { formatAge } from '../names.js';
import type { KindInfo, TableCell } from '../types.js';
import { type Obj, isObj, jsonEqual } from './checks.js';
import { validatePodTemplateSpec } from './podspec.js';
import { defaultTemplateOf } from './deployment.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  SELECTOR_COLUMN,
  child,
  containerCells,
  formatLabelMap,
  immutable,
  intOrPercentValue,
  nonNegativeField,
  notMoreThan100Percent,
  num,
  selectorCell,
  selectorMatchesTemplate,
  selectorMismatch,
  selectorRequirements,
  specOf,
  statusOf,
  validateAlwaysRestartTemplate,
  validatePositiveIntOrPercent,
  nonNegativeStatus,
} from './workload-common.js';

/** apps/v1 keeps the internal spec.templateGeneration in this annotation. */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

const unset = (v: unknown) => v === undefined || v === null;
const zero = (v: unknown) => unset(v) || v === '';

function defaultDaemonSet(ds: DaemonSet): void {
  const spec = child(ds as Obj, 'spec');
  if (!spec) return;
  const us = child(spec, 'updateStrategy');
  if (us) {
    if (zero(us.type)) us.type = 'RollingUpdate';
    if (us.type === 'RollingUpdate') {
      const ru = child(us, 'rollingUpdate');
      if (ru) {
        if (unset(ru.maxUnavailable)) ru.maxUnavailable = 1;
        if (unset(ru.maxSurge)) ru.maxSurge = 0;
      }
    }
  }
  if (unset(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  defaultTemplateOf(spec);
}

/** The template generation an object carries; undefined when the annotation is absent or not an integer. */
export function templateGeneration(ds: DaemonSet): number | undefined {
  const v = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  return typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}

function setTemplateGeneration(ds: DaemonSet, gen: number): void {
  const meta = (ds.metadata ??= {});
  meta.annotations = { ...(meta.annotations ?? {}), [TEMPLATE_GENERATION_ANNOTATION]: String(gen) };
}

function validateUpdateStrategy(us: unknown, path: string): FieldError[] {
  const s = isObj(us) ? us : {};
  switch (s.type) {
    case 'OnDelete':
      return [];
    case 'RollingUpdate': {
      const ru = s.rollingUpdate;
      if (unset(ru)) return [required(`${path}.rollingUpdate`)];
      if (!isObj(ru)) return [typeInvalid(`${path}.rollingUpdate`, ru, 'must be of type object')];
      const p = `${path}.rollingUpdate`;
      const errs = [
        ...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
        ...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
        ...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`),
        ...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`),
      ];
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) errs.push(invalidValue(`${p}.maxSurge`, ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
      else if (!hasUnavailable && !hasSurge) errs.push(required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      return errs;
    }
    default:
      return [notSupported(path, us ?? {}, ['RollingUpdate', 'OnDelete'])];
  }
}

/** upstream ValidateDaemonSetSpec. */
function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(ds);
  const sel = spec.selector;
  if (isObj(sel)) errs.push(...validateLabelSelector(sel as LabelSelector, 'spec.selector'));
  else if (!unset(sel)) errs.push(typeInvalid('spec.selector', sel, 'must be of type object'));
  const selectorValid = !isObj(sel) || selectorRequirements(sel) !== undefined;
  if (selectorValid && !selectorMatchesTemplate(sel, spec.template)) errs.push(selectorMismatch('spec.template', spec.template));
  if (isObj(sel) && (isObj(sel.matchLabels) ? Object.keys(sel.matchLabels).length : 0) + (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0) === 0)
    errs.push(invalidValue('spec.selector', sel, 'empty selector is invalid for daemonset'));
  errs.push(...validatePodTemplateSpec(spec.template as PodTemplateSpec, 'spec.template'));
  errs.push(...validateAlwaysRestartTemplate(spec.template, 'spec.template', 'DaemonSet'));
  nonNegativeField(spec.minReadySeconds, 'spec.minReadySeconds', errs);
  errs.push(...validateUpdateStrategy(spec.updateStrategy, 'spec.updateStrategy'));
  nonNegativeField(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs);
  return errs;
}

function validateDaemonSetUpdate(ds: DaemonSet, old: DaemonSet): FieldError[] {
  const errs = immutable(specOf(ds).selector, specOf(old).selector, 'spec.selector');
  const gen = templateGeneration(ds) ?? 0;
  const oldGen = templateGeneration(old) ?? 0;
  const templateChanged = !jsonEqual(specOf(ds).template, specOf(old).template);
  if (gen < oldGen) errs.push(invalidValue('spec.templateGeneration', gen, 'must not be decremented'));
  else if (gen === oldGen && templateChanged) errs.push(invalidValue('spec.templateGeneration', gen, 'must be incremented upon template update'));
  else if (gen > oldGen && !templateChanged) errs.push(invalidValue('spec.templateGeneration', gen, 'must not be incremented without template update'));
  return errs;
}

export function daemonSetRow(ds: DaemonSet, now: number): TableCell[] {
  const spec = specOf(ds);
  const status = statusOf(ds);
  const nodeSelector = isObj(spec.template) && isObj(spec.template.spec) ? spec.template.spec.nodeSelector : undefined;
  return [
    ds.metadata?.name ?? '',
    num(status.desiredNumberScheduled),
    num(status.currentNumberScheduled),
    num(status.numberReady),
    num(status.updatedNumberScheduled),
    num(status.numberAvailable),
    formatLabelMap(nodeSelector),
    formatAge(ds.metadata?.creationTimestamp, now),
    ...containerCells(spec.template),
    selectorCell(spec.selector),
  ];
}

export const daemonSetKind: KindInfo<DaemonSet> = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  resource: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  generation: true,
  subresources: { status: true },
  strategy: {
    defaults: defaultDaemonSet,
    prepareForCreate(ds) {
      (ds as Obj).status = { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
      setTemplateGeneration(ds, Math.max(1, templateGeneration(ds) ?? 0));
    },
    prepareForUpdate(ds, old) {
      const oldGen = templateGeneration(old) ?? 1;
      if (!jsonEqual(specOf(ds).template, specOf(old).template)) setTemplateGeneration(ds, oldGen + 1);
      else setTemplateGeneration(ds, templateGeneration(ds) ?? oldGen);
    },
    validate: validateDaemonSet,
    validateUpdate: validateDaemonSetUpdate,
    validateStatusUpdate: nonNegativeStatus('currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount'),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Desired', type: 'integer', description: 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).', priority: 0 },
        { name: 'Current', type: 'integer', description: 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', priority: 0 },
        { name: 'Ready', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', priority: 0 },
        { name: 'Up-to-date', type: 'integer', description: 'The total number of nodes that are running updated daemon pod', priority: 0 },
        { name: 'Available', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', priority: 0 },
        { name: 'Node Selector', type: 'string', description: "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node.", priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        { ...SELECTOR_COLUMN, description: 'A label query over pods that are managed by the daemon set. Must match in order to be controlled.' },
      ],
      row: daemonSetRow,
    },
  },
};
