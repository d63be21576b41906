// batch/v1 Job and CronJob: upstream SetDefaults_Job/_CronJob, the job strategy's generated selector and
// labels, ValidateJob / ValidateCronJob (template immutability, restart policy, pod failure and success
// policies, cron schedule and time zone) and the printers.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { parseCronSchedule, isKnownTimeZone } from '../cron.js';
import { type FieldError, duplicate, forbidden, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { labelsMatch, validateLabelSelector } from '../labels.js';
import { formatAge, humanDuration } from '../names.js';
import type { KindInfo, TableCell } from '../types.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from '../validation.js';
import { type Obj, isObj, bool, clone, dig, digList, int, jsonEqual, str } from './checks.js';
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
  immutable,
  nonNegativeField,
  num,
  selectorCell,
  selectorMismatch,
  selectorRequirements,
  specOf,
  statusOf,
  templateLabelsOf,
  nonNegativeStatus,
} from './workload-common.js';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

const unset = (v: unknown) => v === undefined || v === null;
const zero = (v: unknown) => unset(v) || v === '';
const MAX_INT32 = 2147483647;
const MAX_PARALLELISM_INDEXED = 100000;
const MAX_FAILED_INDEXES = 100000;
const MAX_RULES = 20;
const MAX_EXIT_CODE_VALUES = 255;
const goList = (vs: string[]) => `[${vs.map((v) => JSON.stringify(v)).join(' ')}]`;
const tooMany = (field: string, n: number, max: number): FieldError => ({ field, type: 'FieldValueTooMany', value: n, detail: `${n}: must have at most ${max} items` });

// ---------------------------------------------------------------------------------------------
// Defaults

function defaultPodFailurePolicy(spec: Obj): void {
  for (const rule of digList(spec, 'podFailurePolicy', 'rules'))
    for (const pattern of digList(rule, 'onPodConditions')) if (isObj(pattern) && zero(pattern.status)) pattern.status = 'True';
}

/** upstream SetDefaults_Job and the nested defaulters. */
function defaultJob(job: Job): void {
  const o = job as Obj;
  const spec = child(o, 'spec');
  if (!spec) return;
  if (unset(spec.completions) && unset(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (unset(spec.parallelism)) spec.parallelism = 1;
  if (unset(spec.backoffLimit)) spec.backoffLimit = unset(spec.backoffLimitPerIndex) ? 6 : MAX_INT32;
  const templateLabels = dig(spec, 'template', 'metadata', 'labels');
  if (isObj(templateLabels) && Object.keys(job.metadata?.labels ?? {}).length === 0) (job.metadata ??= {}).labels = { ...(templateLabels as Record<string, string>) };
  if (unset(spec.completionMode)) spec.completionMode = 'NonIndexed';
  if (unset(spec.suspend)) spec.suspend = false;
  if (unset(spec.podReplacementPolicy)) spec.podReplacementPolicy = unset(spec.podFailurePolicy) ? 'TerminatingOrFailed' : 'Failed';
  if (unset(spec.manualSelector)) spec.manualSelector = false;
  defaultPodFailurePolicy(spec);
  defaultTemplateOf(spec);
}

/** upstream SetDefaults_CronJob and the nested defaulters (the job template's own fields are not defaulted). */
function defaultCronJob(cj: CronJob): void {
  const spec = child(cj as Obj, 'spec');
  if (!spec) return;
  if (zero(spec.concurrencyPolicy)) spec.concurrencyPolicy = 'Allow';
  if (unset(spec.suspend)) spec.suspend = false;
  if (unset(spec.successfulJobsHistoryLimit)) spec.successfulJobsHistoryLimit = 3;
  if (unset(spec.failedJobsHistoryLimit)) spec.failedJobsHistoryLimit = 1;
  const jobSpec = dig(spec, 'jobTemplate', 'spec');
  if (isObj(jobSpec)) {
    defaultPodFailurePolicy(jobSpec);
    defaultTemplateOf(jobSpec);
  }
}

// ---------------------------------------------------------------------------------------------
// The generated selector

/**
 * What upstream's job PrepareForCreate does unless `manualSelector` is true: labels the pod template with
 * the job's name and uid (both the `batch.kubernetes.io/` and the legacy keys) and selects on the uid.
 */
export function generateJobSelector(job: Job): void {
  const o = job as Obj;
  const spec = child(o, 'spec');
  if (!spec) return;
  const template = child(spec, 'template');
  const meta = template && child(template, 'metadata');
  const labels = meta && child(meta, 'labels');
  if (!labels) return;
  const name = job.metadata?.name ?? '';
  const uid = job.metadata?.uid ?? '';
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  const selector = child(spec, 'selector');
  const matchLabels = selector && child(selector, 'matchLabels');
  if (matchLabels && !(CONTROLLER_UID_LABEL in matchLabels)) matchLabels[CONTROLLER_UID_LABEL] = uid;
}

function validateHasLabel(template: Obj, key: string, expected: string): FieldError[] {
  const path = `spec.template.metadata.labels[${key}]`;
  const labels = isObj(template.metadata) && isObj(template.metadata.labels) ? template.metadata.labels : {};
  if (!(key in labels)) return [required(path, expected)];
  return labels[key] === expected ? [] : [invalidValue(path, labels, `must be '${expected}'`)];
}

/** upstream validateGeneratedSelector. */
function validateGeneratedSelector(job: Job, spec: Obj): FieldError[] {
  if (spec.manualSelector === true) return [];
  const errs: FieldError[] = [];
  const uid = job.metadata?.uid ?? '';
  const name = job.metadata?.name ?? '';
  if (!uid) errs.push(required('metadata.uid'));
  const template = isObj(spec.template) ? spec.template : {};
  errs.push(...validateHasLabel(template, LEGACY_CONTROLLER_UID_LABEL, uid));
  errs.push(...validateHasLabel(template, LEGACY_JOB_NAME_LABEL, name));
  errs.push(...validateHasLabel(template, CONTROLLER_UID_LABEL, uid));
  errs.push(...validateHasLabel(template, JOB_NAME_LABEL, name));
  const expected = { [CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: name, [LEGACY_CONTROLLER_UID_LABEL]: uid, [LEGACY_JOB_NAME_LABEL]: name };
  const reqs = isObj(spec.selector) ? selectorRequirements(spec.selector) : [];
  const parseable = !isObj(spec.selector) || reqs !== undefined;
  if (parseable && !(isObj(spec.selector) && reqs && labelsMatch(reqs, expected)))
    errs.push(invalidValue('spec.selector', spec.selector ?? null, '`selector` not auto-generated'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Job spec validation

function validateOnExitCodes(v: unknown, path: string, containerNames: Set<string>, errs: FieldError[]): void {
  if (!isObj(v)) return void errs.push(typeInvalid(path, v, 'must be of type object'));
  const op = str(v.operator, `${path}.operator`, errs);
  if (!op) errs.push(required(`${path}.operator`, `valid values: ${goList(['In', 'NotIn'])}`));
  else if (op !== 'In' && op !== 'NotIn') errs.push(notSupported(`${path}.operator`, op, ['In', 'NotIn']));
  if (!unset(v.containerName)) {
    const cn = str(v.containerName, `${path}.containerName`, errs);
    if (!containerNames.has(cn)) errs.push(invalidValue(`${path}.containerName`, cn, 'must be one of the container or initContainer names in the pod template'));
  }
  const values = Array.isArray(v.values) ? v.values : [];
  if (values.length === 0) errs.push(invalidValue(`${path}.values`, v.values ?? null, 'at least one value is required'));
  else if (values.length > MAX_EXIT_CODE_VALUES) errs.push(tooMany(`${path}.values`, values.length, MAX_EXIT_CODE_VALUES));
  const seen = new Set<number>();
  let ordered = true;
  values.forEach((x, j) => {
    const vp = `${path}.values[${j}]`;
    const code = int(x, vp, errs);
    if (code === undefined) return;
    if (op === 'In' && code === 0) errs.push(invalidValue(vp, code, 'must not be 0 for the In operator'));
    if (seen.has(code)) errs.push(duplicate(vp, code));
    else seen.add(code);
    if (j > 0 && typeof values[j - 1] === 'number' && (values[j - 1] as number) > code) ordered = false;
  });
  if (!ordered) errs.push(invalidValue(`${path}.values`, values, 'must be ordered'));
}

function validatePodFailurePolicy(spec: Obj, path: string, errs: FieldError[]): void {
  const pfp = spec.podFailurePolicy;
  if (!isObj(pfp)) return void errs.push(typeInvalid(path, pfp, 'must be of type object'));
  const rules = Array.isArray(pfp.rules) ? pfp.rules : [];
  if (rules.length > MAX_RULES) errs.push(tooMany(`${path}.rules`, rules.length, MAX_RULES));
  const containerNames = new Set<string>();
  for (const k of ['containers', 'initContainers'])
    for (const c of digList(spec, 'template', 'spec', k)) if (isObj(c) && typeof c.name === 'string') containerNames.add(c.name);
  const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
  rules.forEach((rule, i) => {
    const rp = `${path}.rules[${i}]`;
    if (!isObj(rule)) return void errs.push(typeInvalid(rp, rule, 'must be of type object'));
    const action = rule.action;
    if (zero(action)) errs.push(required(`${rp}.action`, `valid values: ${goList(actions)}`));
    else if (action === 'FailIndex') {
      if (unset(spec.backoffLimitPerIndex)) errs.push(invalidValue(`${rp}.action`, action, 'requires the backoffLimitPerIndex to be set'));
    } else if (typeof action !== 'string' || !actions.includes(action)) errs.push(notSupported(`${rp}.action`, action, actions));
    const onExit = !unset(rule.onExitCodes);
    const conditions = Array.isArray(rule.onPodConditions) ? rule.onPodConditions : [];
    if (onExit) validateOnExitCodes(rule.onExitCodes, `${rp}.onExitCodes`, containerNames, errs);
    if (conditions.length > MAX_RULES) errs.push(tooMany(`${rp}.onPodConditions`, conditions.length, MAX_RULES));
    conditions.forEach((pattern, j) => {
      const pp = `${rp}.onPodConditions[${j}]`;
      const p = isObj(pattern) ? pattern : {};
      const type = str(p.type, `${pp}.type`, errs);
      for (const m of qualifiedNameErrors(type)) errs.push(invalidValue(`${pp}.type`, type, m));
      const statuses = ['False', 'True', 'Unknown'];
      if (zero(p.status)) errs.push(required(`${pp}.status`, `valid values: ${goList(statuses)}`));
      else if (typeof p.status !== 'string' || !statuses.includes(p.status)) errs.push(notSupported(`${pp}.status`, p.status, statuses));
    });
    if (onExit && conditions.length > 0) errs.push(invalidValue(rp, undefined, 'specifying both OnExitCodes and OnPodConditions is not supported'));
    if (!onExit && conditions.length === 0) errs.push(invalidValue(rp, undefined, 'specifying one of OnExitCodes and OnPodConditions is required'));
  });
}

/** Parses `1,3-5,7`: ascending, non-overlapping intervals below `completions`; returns the count or an error. */
function parseIndexes(s: string, completions: number): number | string {
  let total = 0;
  let last = -1;
  for (const part of s.split(',')) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (!m) return `cannot parse integer index: ${JSON.stringify(part)}`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return `non-increasing order, previous: ${lo}, current: ${hi}`;
    if (hi >= completions) return `too large: ${hi}`;
    if (lo <= last) return `overlapping intervals`;
    total += hi - lo + 1;
    last = hi;
  }
  return total;
}

function validateSuccessPolicy(spec: Obj, path: string, errs: FieldError[]): void {
  const sp = spec.successPolicy;
  if (!isObj(sp)) return void errs.push(typeInvalid(path, sp, 'must be of type object'));
  if (spec.completionMode !== 'Indexed') errs.push(invalidValue('spec.completionMode', spec.completionMode ?? null, 'requires indexed completion mode'));
  const rules = Array.isArray(sp.rules) ? sp.rules : [];
  if (rules.length === 0) errs.push(required(`${path}.rules`, 'at least one rules must be specified when the successPolicy is specified'));
  if (rules.length > MAX_RULES) errs.push(tooMany(`${path}.rules`, rules.length, MAX_RULES));
  const completions = typeof spec.completions === 'number' ? spec.completions : 0;
  rules.forEach((rule, i) => {
    const rp = `${path}.rules[${i}]`;
    const r = isObj(rule) ? rule : {};
    if (unset(r.succeededIndexes) && unset(r.succeededCount)) errs.push(required(rp, 'at least one of succeededCount or succeededIndexes must be specified'));
    let indexes: number | undefined;
    if (!unset(r.succeededIndexes)) {
      const s = str(r.succeededIndexes, `${rp}.succeededIndexes`, errs);
      if (s.length > 64 * 1024) errs.push(invalidValue(`${rp}.succeededIndexes`, s, 'must be less than 64 KiB'));
      const parsed = parseIndexes(s, completions);
      if (typeof parsed === 'string') errs.push(invalidValue(`${rp}.succeededIndexes`, s, `error parsing succeededIndexes: ${parsed}`));
      else indexes = parsed;
    }
    if (!unset(r.succeededCount)) {
      const n = nonNegativeField(r.succeededCount, `${rp}.succeededCount`, errs);
      if (n !== undefined && n > completions)
        errs.push(invalidValue(`${rp}.succeededCount`, n, `must be less than or equal to ${completions} (the number of specified completions)`));
      else if (n !== undefined && indexes !== undefined && n > indexes)
        errs.push(invalidValue(`${rp}.succeededCount`, n, `must be less than or equal to ${indexes} (the number of indexes in the specified succeededIndexes field)`));
    }
  });
}

function validateManagedBy(v: unknown, path: string, errs: FieldError[]): void {
  const s = str(v, path, errs);
  const slash = s.indexOf('/');
  if (slash <= 0) errs.push(invalidValue(path, s, 'must be a domain-prefixed path (such as "acme.io/foo")'));
  else {
    for (const m of dns1123SubdomainErrors(s.slice(0, slash))) errs.push(invalidValue(path, s.slice(0, slash), m));
    if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(s.slice(slash + 1)))
      errs.push(invalidValue(path, s.slice(slash + 1), "Invalid path: must contain only alphanumeric characters, '/', '-', '.', '_', '~', '%', '!', '$', '&', ''', '(', ')', '*', '+', ',', ';', '=', ':'"));
  }
  if (s.length > 63) errs.push({ field: path, type: 'FieldValueTooLong', value: s, detail: 'may not be more than 63 bytes' });
}

/**
 * upstream validateJobSpec (shared by Jobs and CronJob job templates): counts, completion mode, failure,
 * success and replacement policies, the pod template and its restart policy. `path` is `spec` or
 * `spec.jobTemplate.spec`.
 */
function validateJobSpecFields(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const parallelism = nonNegativeField(spec.parallelism, `${path}.parallelism`, errs);
  const completions = nonNegativeField(spec.completions, `${path}.completions`, errs);
  nonNegativeField(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`, errs);
  nonNegativeField(spec.backoffLimit, `${path}.backoffLimit`, errs);
  nonNegativeField(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`, errs);
  bool(spec.suspend, `${path}.suspend`, errs);
  bool(spec.manualSelector, `${path}.manualSelector`, errs);
  const mode = spec.completionMode;
  if (!unset(spec.backoffLimitPerIndex)) {
    nonNegativeField(spec.backoffLimitPerIndex, `${path}.backoffLimitPerIndex`, errs);
    if (mode !== 'Indexed') errs.push(forbidden(`${path}.backoffLimitPerIndex`, 'requires indexed completion mode'));
  }
  if (!unset(spec.maxFailedIndexes)) {
    const mfi = nonNegativeField(spec.maxFailedIndexes, `${path}.maxFailedIndexes`, errs);
    if (unset(spec.backoffLimitPerIndex)) errs.push(required(`${path}.backoffLimitPerIndex`, 'when maxFailedIndexes is specified'));
    if (mfi !== undefined && completions !== undefined && mfi > completions)
      errs.push(invalidValue(`${path}.maxFailedIndexes`, mfi, 'must be less than or equal to completions'));
    if (mfi !== undefined && mfi > MAX_FAILED_INDEXES)
      errs.push(invalidValue(`${path}.maxFailedIndexes`, mfi, `must be less than or equal to ${MAX_FAILED_INDEXES}`));
  }
  if (!unset(spec.managedBy)) validateManagedBy(spec.managedBy, `${path}.managedBy`, errs);
  if (!unset(mode)) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') errs.push(notSupported(`${path}.completionMode`, mode, ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (completions === undefined) errs.push(required(`${path}.completions`, 'when completion mode is Indexed'));
      if (parallelism !== undefined && parallelism > MAX_PARALLELISM_INDEXED)
        errs.push(invalidValue(`${path}.parallelism`, parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
    }
  }
  if (!unset(spec.podFailurePolicy)) validatePodFailurePolicy(spec, `${path}.podFailurePolicy`, errs);
  if (!unset(spec.successPolicy)) validateSuccessPolicy(spec, `${path}.successPolicy`, errs);
  if (!unset(spec.podReplacementPolicy)) {
    const prp = spec.podReplacementPolicy;
    if (!unset(spec.podFailurePolicy)) {
      if (prp !== 'Failed') errs.push(notSupported(`${path}.podReplacementPolicy`, prp, ['Failed']));
    } else if (prp !== 'Failed' && prp !== 'TerminatingOrFailed') errs.push(notSupported(`${path}.podReplacementPolicy`, prp, ['Failed', 'TerminatingOrFailed']));
  }
  errs.push(...validatePodTemplateSpec(spec.template as PodTemplateSpec, `${path}.template`));
  const restartPolicy = dig(spec, 'template', 'spec', 'restartPolicy');
  const rpPath = `${path}.template.spec.restartPolicy`;
  if (zero(restartPolicy) || restartPolicy === 'Always') errs.push(required(rpPath, `valid values: "OnFailure", "Never"`));
  else if (restartPolicy !== 'OnFailure' && restartPolicy !== 'Never') errs.push(notSupported(rpPath, restartPolicy, ['OnFailure', 'Never']));
  else if (!unset(spec.podFailurePolicy) && restartPolicy !== 'Never') errs.push(invalidValue(rpPath, restartPolicy, 'only "Never" is supported when podFailurePolicy is specified'));
  return errs;
}

/** upstream ValidateJob. */
function validateJob(job: Job): FieldError[] {
  const spec = specOf(job);
  const errs = validateGeneratedSelector(job, spec);
  errs.push(...validateJobSpecFields(spec, 'spec'));
  if (unset(spec.selector)) errs.push(required('spec.selector'));
  else if (!isObj(spec.selector)) errs.push(typeInvalid('spec.selector', spec.selector, 'must be of type object'));
  else errs.push(...validateLabelSelector(spec.selector as LabelSelector, 'spec.selector'));
  const reqs = isObj(spec.selector) ? selectorRequirements(spec.selector) : undefined;
  if (!(isObj(spec.selector) && reqs === undefined) && !(reqs && labelsMatch(reqs, templateLabelsOf(spec.template))))
    errs.push(selectorMismatch('spec.template', spec.template));
  const completions = spec.completions;
  if (spec.completionMode === 'Indexed' && typeof completions === 'number' && completions > 0) {
    const host = `${job.metadata?.name ?? ''}-${completions - 1}`;
    if (dns1123LabelErrors(host).length > 0)
      errs.push(invalidValue('metadata.name', job.metadata?.name ?? '', `will not able to create pod with invalid DNS label: ${host}`));
  }
  return errs;
}

/** The template fields a suspended, never-started Job may still change (upstream AllowMutableSchedulingDirectives). */
function blankMutableSchedulingDirectives(template: Obj, next: Obj): void {
  const spec = child(template, 'spec') ?? {};
  const nextSpec = isObj(next.spec) ? next.spec : {};
  const meta = child(template, 'metadata') ?? {};
  const nextMeta = isObj(next.metadata) ? next.metadata : {};
  const copy = (to: Obj, from: Obj, k: string) => {
    if (k in from) to[k] = clone(from[k]);
    else delete to[k];
  };
  if (unset(nextSpec.affinity) && isObj(spec.affinity)) {
    delete spec.affinity.nodeAffinity;
    if (Object.keys(spec.affinity).length === 0) delete spec.affinity;
  } else if (isObj(nextSpec.affinity) && unset(spec.affinity)) {
    spec.affinity = unset(nextSpec.affinity.nodeAffinity) ? {} : { nodeAffinity: clone(nextSpec.affinity.nodeAffinity) };
  } else if (isObj(nextSpec.affinity) && isObj(spec.affinity)) {
    copy(spec.affinity, nextSpec.affinity, 'nodeAffinity');
  }
  for (const k of ['nodeSelector', 'tolerations', 'schedulingGates']) copy(spec, nextSpec, k);
  for (const k of ['annotations', 'labels']) copy(meta, nextMeta, k);
}

/** upstream ValidateJobSpecUpdate. */
function validateJobUpdate(job: Job, old: Job): FieldError[] {
  const spec = specOf(job);
  const oldSpec = specOf(old);
  const errs: FieldError[] = [];
  const isIndexed = spec.completionMode === 'Indexed';
  if (!isIndexed) errs.push(...immutable(spec.completions, oldSpec.completions, 'spec.completions'));
  else if (!jsonEqual(spec.completions, oldSpec.completions) && !unset(spec.completions) && spec.completions !== spec.parallelism)
    errs.push(invalidValue('spec.completions', spec.completions, 'can only be modified in tandem with spec.parallelism'));
  errs.push(...immutable(spec.selector, oldSpec.selector, 'spec.selector'));
  let oldTemplate = oldSpec.template;
  const suspended = oldSpec.suspend === true;
  const notStarted = unset(dig(old.status, 'startTime'));
  if (suspended && notStarted && isObj(oldTemplate)) {
    oldTemplate = clone(oldTemplate);
    blankMutableSchedulingDirectives(oldTemplate as Obj, isObj(spec.template) ? spec.template : {});
  }
  errs.push(...immutable(spec.template, oldTemplate, 'spec.template'));
  for (const k of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy'])
    errs.push(...immutable(spec[k], oldSpec[k], `spec.${k}`));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Job table

const hasCondition = (status: Obj, type: string): boolean => {
  const c = digList(status, 'conditions').find((x) => isObj(x) && x.type === type);
  return isObj(c) && c.status === 'True';
};

export function jobRow(job: Job, now: number): TableCell[] {
  const spec = specOf(job);
  const status = statusOf(job);
  const succeeded = num(status.succeeded);
  let completions: string;
  if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`;
  else {
    const parallelism = num(spec.parallelism);
    completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
  }
  const start = typeof status.startTime === 'string' ? Date.parse(status.startTime) : NaN;
  const end = typeof status.completionTime === 'string' ? Date.parse(status.completionTime) : NaN;
  const duration = Number.isNaN(start) ? '' : humanDuration((Number.isNaN(end) ? now : end) - start);
  let state = 'Running';
  if (hasCondition(status, 'Complete')) state = 'Complete';
  else if (hasCondition(status, 'Failed')) state = 'Failed';
  else if (job.metadata?.deletionTimestamp) state = 'Terminating';
  else if (hasCondition(status, 'Suspended')) state = 'Suspended';
  else if (hasCondition(status, 'FailureTarget')) state = 'FailureTarget';
  return [
    job.metadata?.name ?? '',
    state,
    completions,
    duration,
    formatAge(job.metadata?.creationTimestamp, now),
    ...containerCells(spec.template),
    selectorCell(spec.selector),
  ];
}

export const jobKind: KindInfo<Job> = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  resource: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  generation: true,
  subresources: { status: true },
  strategy: {
    defaults: defaultJob,
    prepareForCreate(job) {
      if (specOf(job).manualSelector !== true) generateJobSelector(job);
      (job as Obj).status = {};
      // upstream re-applies defaults when reading from storage, so the job's labels come from the
      // (now labelled) template when it had none of its own
      const labels = dig(job, 'spec', 'template', 'metadata', 'labels');
      if (isObj(labels) && Object.keys(job.metadata?.labels ?? {}).length === 0) (job.metadata ??= {}).labels = { ...(labels as Record<string, string>) };
    },
    validate: validateJob,
    validateUpdate: validateJobUpdate,
    validateStatusUpdate: nonNegativeStatus('active', 'succeeded', 'failed', 'ready', 'terminating'),
    selectableFields: (job) => ({ 'status.successful': String(num(statusOf(job).succeeded)) }),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Status', type: 'string', description: 'Status of the job.', priority: 0 },
        { name: 'Completions', type: 'string', description: 'The number of pods which reached phase Succeeded.', priority: 0 },
        { name: 'Duration', type: 'string', description: 'Time required to complete the job.', priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        { ...SELECTOR_COLUMN, description: 'A label query over pods that should match the pod count.' },
      ],
      row: jobRow,
    },
  },
};

// ---------------------------------------------------------------------------------------------
// CronJob

const TIME_ZONE_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

/** upstream validateTimeZone: an explicit IANA zone name Go's time.LoadLocation can load. */
export function validateTimeZone(tz: unknown, path: string): FieldError[] {
  if (unset(tz)) return [];
  if (typeof tz !== 'string') return [typeInvalid(path, tz, 'must be of type string')];
  if (tz === '') return [invalidValue(path, tz, 'timeZone must be nil or non-empty string')];
  for (const part of tz.split('/'))
    if (part === '.' || part === '..' || part.startsWith('-') || !TIME_ZONE_PART.test(part)) return [invalidValue(path, tz, `unknown time zone ${tz}`)];
  const errs: FieldError[] = [];
  if (tz.toLowerCase() === 'local') errs.push(invalidValue(path, tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
  if (tz !== 'UTC' && tz !== 'Local' && !isKnownTimeZone(tz)) errs.push(invalidValue(path, tz, `unknown time zone ${tz}`));
  return errs;
}

/** upstream validateScheduleFormat: robfig's standard syntax, and no TZ in the schedule (timeZone is the field for that). */
export function validateSchedule(schedule: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  try {
    parseCronSchedule(schedule);
  } catch (e) {
    errs.push(invalidValue(path, schedule, (e as Error).message));
  }
  if (schedule.includes('TZ')) errs.push(invalidValue(path, schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  return errs;
}

/** upstream validateCronJobSpec + ValidateJobTemplateSpec. */
function validateCronJob(cj: CronJob): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(cj);
  const schedule = str(spec.schedule, 'spec.schedule', errs);
  if (!schedule) errs.push(required('spec.schedule'));
  else errs.push(...validateSchedule(schedule, 'spec.schedule'));
  nonNegativeField(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds', errs);
  errs.push(...validateTimeZone(spec.timeZone, 'spec.timeZone'));
  const cp = spec.concurrencyPolicy;
  if (zero(cp)) errs.push(required('spec.concurrencyPolicy'));
  else if (cp !== 'Allow' && cp !== 'Forbid' && cp !== 'Replace') errs.push(notSupported('spec.concurrencyPolicy', cp, ['Allow', 'Forbid', 'Replace']));
  bool(spec.suspend, 'spec.suspend', errs);
  const jobSpec = dig(spec, 'jobTemplate', 'spec');
  const js = isObj(jobSpec) ? jobSpec : {};
  errs.push(...validateJobSpecFields(js, 'spec.jobTemplate.spec'));
  if (!unset(js.selector)) errs.push(invalidValue('spec.jobTemplate.spec.selector', js.selector, '`selector` will be auto-generated'));
  if (js.manualSelector === true) errs.push(notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
  nonNegativeField(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit', errs);
  nonNegativeField(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit', errs);
  // the controller names each Job `<cronjob>-<11 characters>`, and Job names are at most 63
  const name = cj.metadata?.name;
  if (typeof name === 'string' && name.length > 52) errs.push(invalidValue('metadata.name', name, 'must be no more than 52 characters'));
  return errs;
}

const printBool = (v: unknown) => (v === true ? 'True' : v === false ? 'False' : '<unset>');

export function cronJobRow(cj: CronJob, now: number): TableCell[] {
  const spec = specOf(cj);
  const status = statusOf(cj);
  const jobSpec = dig(spec, 'jobTemplate', 'spec');
  const last = typeof status.lastScheduleTime === 'string' ? formatAge(status.lastScheduleTime, now) : '<none>';
  return [
    cj.metadata?.name ?? '',
    typeof spec.schedule === 'string' ? spec.schedule : '',
    typeof spec.timeZone === 'string' ? spec.timeZone : '<none>',
    printBool(spec.suspend),
    digList(status, 'active').length,
    last,
    formatAge(cj.metadata?.creationTimestamp, now),
    ...containerCells(dig(jobSpec, 'template')),
    selectorCell(dig(jobSpec, 'selector')),
  ];
}

export const cronJobKind: KindInfo<CronJob> = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  resource: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  generation: true,
  subresources: { status: true },
  strategy: {
    defaults: defaultCronJob,
    prepareForCreate(cj) {
      (cj as Obj).status = {};
    },
    validate: validateCronJob,
    validateStatusUpdate: nonNegativeStatus(),
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Schedule', type: 'string', description: 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.', priority: 0 },
        { name: 'Timezone', type: 'string', description: 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.', priority: 0 },
        { name: 'Suspend', type: 'boolean', description: 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.', priority: 0 },
        { name: 'Active', type: 'integer', description: 'A list of pointers to currently running jobs.', priority: 0 },
        { name: 'Last Schedule', type: 'string', description: 'Information when was the last time the job was successfully scheduled.', priority: 0 },
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        { ...SELECTOR_COLUMN, description: 'A label query over pods that should match the pod count.' },
      ],
      row: cronJobRow,
    },
  },
};
