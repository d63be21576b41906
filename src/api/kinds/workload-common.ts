// Pieces shared by the workload kinds (apps/v1, batch/v1, autoscaling/v2, policy/v1): int-or-percent
// fields, selectors against pod templates, immutable fields, and the printer columns they have in common.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { type FieldError, forbidden, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { formatLabelSelector, labelsMatch, selectorFromLabelSelector, validateLabelSelector } from '../labels.js';
import type { TableCell, TableColumn } from '../types.js';
import { type Obj, isObj, int, digList, jsonEqual, FIELD_IMMUTABLE, IS_NEGATIVE_ERROR } from './checks.js';
import { validatePodTemplateSpec } from './podspec.js';

export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
};
export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
};
export const CONTAINERS_COLUMN: TableColumn = { name: 'Containers', type: 'string', description: 'Names of each container in the template.', priority: 1 };
export const IMAGES_COLUMN: TableColumn = { name: 'Images', type: 'string', description: 'Images referenced by each container in the template.', priority: 1 };
export const SELECTOR_COLUMN: TableColumn = {
  name: 'Selector',
  type: 'string',
  description: 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
  priority: 1,
};

const unset = (v: unknown) => v === undefined || v === null;

/** Reads `o[key]` as an object, creating it when absent (for defaulting). Returns undefined when it is another type. */
export function child(o: Obj, key: string): Obj | undefined {
  if (unset(o[key])) o[key] = {};
  const v = o[key];
  return isObj(v) ? v : undefined;
}

/** The spec of a workload as a loose JSON object ({} when absent or mistyped). */
export const specOf = (o: object): Obj => {
  const s = (o as Obj).spec;
  return isObj(s) ? s : {};
};

export const statusOf = (o: object): Obj => {
  const s = (o as Obj).status;
  return isObj(s) ? s : {};
};

/**
 * A workload's /status validation: its counters may not be negative. The spec and template are not
 * checked again since a status write keeps them as stored.
 */
export const nonNegativeStatus =
  (...fields: string[]) =>
  (o: object): FieldError[] => {
    const status = statusOf(o);
    const errs: FieldError[] = [];
    for (const f of ['observedGeneration', ...fields]) {
      const v = status[f];
      if (typeof v === 'number' && v < 0) errs.push(invalidValue(`status.${f}`, v, IS_NEGATIVE_ERROR));
    }
    return errs;
  };

/** A number read for printing: 0 when absent or not a number. */
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** upstream layoutContainerCells: container names and images, comma separated. */
export function containerCells(template: unknown): [string, string] {
  const containers = digList(template, 'spec', 'containers').filter(isObj);
  const names = containers.map((c) => (typeof c.name === 'string' ? c.name : '')).join(',');
  const images = containers.map((c) => (typeof c.image === 'string' ? c.image : '')).join(',');
  return [names, images];
}

/** upstream labels.FormatLabels: `k=v` sorted by key, `<none>` when empty. */
export function formatLabelMap(m: unknown): string {
  if (!isObj(m)) return '<none>';
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${String(m[k])}`).join(',');
}

/** upstream metav1.FormatLabelSelector: the selector string, `<none>` when it selects everything. */
export function selectorCell(sel: unknown): string {
  if (!isObj(sel)) return '<none>';
  try {
    return formatLabelSelector(sel as LabelSelector) || '<none>';
  } catch {
    return '<error>';
  }
}

export const nonNegative = (v: number | undefined, path: string): FieldError[] =>
  v !== undefined && v < 0 ? [invalidValue(path, v, IS_NEGATIVE_ERROR)] : [];

/** An optional integer field that must be ≥ 0. */
export function nonNegativeField(v: unknown, path: string, errs: FieldError[]): number | undefined {
  const n = int(v, path, errs);
  errs.push(...nonNegative(n, path));
  return n;
}

// ---------------------------------------------------------------------------------------------
// int-or-percent (maxSurge, maxUnavailable, minAvailable)

const PERCENT = /^[0-9]+%$/;
const PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** upstream ValidatePositiveIntOrPercent: a non-negative integer or a percent string. */
export function validatePositiveIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === 'string') return PERCENT.test(v) ? [] : [invalidValue(path, v, PERCENT_MSG)];
  if (typeof v === 'number' && Number.isInteger(v)) return nonNegative(v, path);
  return [invalidValue(path, v, "must be an integer or percentage (e.g '5%')")];
}

/** upstream getIntOrPercentValue: the number of a percent string or int (0 when unparsable). */
export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return Number.isInteger(v) ? v : 0;
  if (typeof v !== 'string') return 0;
  if (PERCENT.test(v)) return Number(v.slice(0, -1));
  return /^[+-]?[0-9]+$/.test(v) ? Number(v) : 0;
}

/** upstream IsNotMoreThan100Percent. */
export function notMoreThan100Percent(v: unknown, path: string): FieldError[] {
  if (typeof v !== 'string' || !PERCENT.test(v)) return [];
  return Number(v.slice(0, -1)) <= 100 ? [] : [invalidValue(path, v, 'must not be greater than 100%')];
}

/** intstr.IntOrString.String(). */
export const intOrStringText = (v: unknown): string => (typeof v === 'number' ? String(v) : typeof v === 'string' ? v : '');

// ---------------------------------------------------------------------------------------------
// selectors and templates

/**
 * The requirements of a selector as upstream's LabelSelectorAsSelector reads it: undefined when the
 * selector is missing (selects nothing) or invalid, [] when empty (selects everything).
 */
export function selectorRequirements(sel: unknown): ReturnType<typeof selectorFromLabelSelector> | undefined {
  if (!isObj(sel)) return undefined;
  try {
    return selectorFromLabelSelector(sel as LabelSelector);
  } catch {
    return undefined;
  }
}

const templateLabels = (template: unknown): Record<string, string> => {
  const labels = isObj(template) && isObj(template.metadata) ? template.metadata.labels : undefined;
  const out: Record<string, string> = {};
  if (isObj(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
};

export const templateLabelsOf = templateLabels;

/**
 * `spec.selector` of a workload: required, valid, non-empty (upstream ValidateDeploymentSpec & co.).
 * `what` names the kind in the "empty selector is invalid for …" message.
 */
export function validateWorkloadSelector(sel: unknown, path: string, what: string): FieldError[] {
  if (unset(sel)) return [required(path)];
  if (!isObj(sel)) return [typeInvalid(path, sel, 'must be of type object')];
  const errs = validateLabelSelector(sel as LabelSelector, path);
  const n = (isObj(sel.matchLabels) ? Object.keys(sel.matchLabels).length : 0) + (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0);
  if (n === 0) errs.push(invalidValue(path, sel, `empty selector is invalid for ${what}`));
  return errs;
}

/** The selector matches the template's labels (a missing selector matches nothing, an empty one everything). */
export function selectorMatchesTemplate(sel: unknown, template: unknown): boolean {
  const reqs = selectorRequirements(sel);
  if (!reqs) return false;
  return labelsMatch(reqs, templateLabels(template));
}

export const selectorMismatch = (templatePath: string, template: unknown): FieldError =>
  invalidValue(`${templatePath}.metadata.labels`, isObj(template) && isObj(template.metadata) ? (template.metadata.labels ?? null) : null, '`selector` does not match template `labels`');

/**
 * upstream ValidatePodTemplateSpecForReplicaSet (Deployments, ReplicaSets): the selector selects the
 * template, the template is a valid pod template, restartPolicy Always, no activeDeadlineSeconds.
 * `specPath` is where the spec sits (`spec`).
 */
export function validateTemplateForReplicaSet(template: unknown, sel: unknown, specPath: string, kind: string): FieldError[] {
  const path = `${specPath}.template`;
  if (unset(template)) return [required(path)];
  const errs: FieldError[] = [];
  if (isObj(sel)) {
    const reqs = selectorRequirements(sel);
    if (!reqs) errs.push(invalidValue(`${specPath}.selector`, sel, 'invalid label selector'));
    else if (reqs.length > 0 && !labelsMatch(reqs, templateLabels(template))) errs.push(selectorMismatch(path, template));
  } else {
    errs.push(selectorMismatch(path, template));
  }
  errs.push(...validatePodTemplateSpec(template as PodTemplateSpec, path));
  errs.push(...validateAlwaysRestartTemplate(template, path, kind));
  return errs;
}

/** restartPolicy Always and no activeDeadlineSeconds: what every long-running workload's template needs. */
export function validateAlwaysRestartTemplate(template: unknown, path: string, kind: string): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(template) && isObj(template.spec) ? template.spec : {};
  if (spec.restartPolicy !== 'Always') errs.push(notSupported(`${path}.spec.restartPolicy`, spec.restartPolicy ?? '', ['Always']));
  if (!unset(spec.activeDeadlineSeconds)) errs.push(forbidden(`${path}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kind} is not Supported`));
  return errs;
}

/** upstream ValidateImmutableField. */
export const immutable = (next: unknown, prev: unknown, path: string): FieldError[] =>
  jsonEqual(next ?? null, prev ?? null) ? [] : [invalidValue(path, next ?? null, FIELD_IMMUTABLE)];

/** Cells of the wide CONTAINERS and IMAGES columns. */
export const containerColumns = (template: unknown): TableCell[] => containerCells(template);
