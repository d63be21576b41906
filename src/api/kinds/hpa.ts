// autoscaling/v2 HorizontalPodAutoscaler: upstream SetDefaults_HorizontalPodAutoscaler (minReplicas 1,
// 80% CPU when no metrics, scaling behavior filled in when given), the HPA validation and printer.
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import { type FieldError, forbidden, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { formatAge } from '../names.js';
import { formatQuantity, parseQuantity, quantitySign } from '../quantity.js';
import type { KindInfo, TableCell } from '../types.js';
import { dns1123LabelErrors, nameIsPathSegment } from '../validation.js';
import { type Obj, isObj, clone, int, str } from './checks.js';
import { AGE_COLUMN, NAME_COLUMN, child, num, specOf, statusOf } from './workload-common.js';

const unset = (v: unknown) => v === undefined || v === null;

/** upstream DefaultCPUUtilization */
export const DEFAULT_CPU_UTILIZATION = 80;
const MAX_PERIOD_SECONDS = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS = 3600;

const DEFAULT_SCALE_UP: Obj = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};
// no stabilizationWindowSeconds: the controller's --horizontal-pod-autoscaler-downscale-stabilization applies
const DEFAULT_SCALE_DOWN: Obj = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

/** upstream GenerateHPAScale{Up,Down}Rules: the defaults, overridden by every field the user set. */
function scalingRules(from: unknown, defaults: Obj): Obj {
  const to = clone(defaults);
  if (!isObj(from)) return to;
  for (const k of ['selectPolicy', 'stabilizationWindowSeconds', 'policies', 'tolerance']) if (!unset(from[k])) to[k] = from[k];
  return to;
}

function defaultHPA(hpa: HorizontalPodAutoscaler): void {
  const spec = child(hpa as Obj, 'spec');
  if (!spec) return;
  if (unset(spec.minReplicas)) spec.minReplicas = 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0)
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  if (isObj(spec.behavior)) {
    spec.behavior.scaleUp = scalingRules(spec.behavior.scaleUp, DEFAULT_SCALE_UP);
    spec.behavior.scaleDown = scalingRules(spec.behavior.scaleDown, DEFAULT_SCALE_DOWN);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

function validateObjectReference(ref: unknown, path: string, errs: FieldError[]): void {
  const r = isObj(ref) ? ref : {};
  if (!unset(ref) && !isObj(ref)) errs.push(typeInvalid(path, ref, 'must be of type object'));
  for (const k of ['kind', 'name']) {
    const v = str(r[k], `${path}.${k}`, errs);
    if (!v) errs.push(required(`${path}.${k}`));
    else for (const m of nameIsPathSegment(v, false)) errs.push(invalidValue(`${path}.${k}`, v, m));
  }
}

function validateMetricIdentifier(id: unknown, path: string, errs: FieldError[]): void {
  const name = str(isObj(id) ? id.name : undefined, `${path}.name`, errs);
  if (!name) errs.push(required(`${path}.name`, 'must specify a metric name'));
  else for (const m of nameIsPathSegment(name, false)) errs.push(invalidValue(`${path}.name`, name, m));
}

/** A positive quantity field of a metric target (undefined when absent). */
function positiveQuantity(v: unknown, path: string, errs: FieldError[]): void {
  if (unset(v)) return;
  try {
    if (quantitySign(parseQuantity(v as string)) !== 1) errs.push(invalidValue(path, v, 'must be positive'));
  } catch (e) {
    errs.push(invalidValue(path, v, (e as Error).message));
  }
}

function validateMetricTarget(t: unknown, path: string, errs: FieldError[]): Obj {
  const target = isObj(t) ? t : {};
  const type = target.type;
  if (unset(type) || type === '') errs.push(required(`${path}.type`, 'must specify a metric target type'));
  if (type !== 'Utilization' && type !== 'Value' && type !== 'AverageValue')
    errs.push(invalidValue(`${path}.type`, type ?? '', 'must be either Utilization, Value, or AverageValue'));
  positiveQuantity(target.value, `${path}.value`, errs);
  positiveQuantity(target.averageValue, `${path}.averageValue`, errs);
  const util = int(target.averageUtilization, `${path}.averageUtilization`, errs);
  if (util !== undefined && util < 1) errs.push(invalidValue(`${path}.averageUtilization`, util, 'must be greater than 0'));
  return target;
}

// in the order upstream checks them: only the first source present is validated
const SOURCE_FIELDS: Record<string, string> = {
  Object: 'object',
  External: 'external',
  Pods: 'pods',
  Resource: 'resource',
  ContainerResource: 'containerResource',
};
const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];

function validateSource(field: string, src: Obj, path: string, errs: FieldError[]): void {
  const tp = `${path}.target`;
  switch (field) {
    case 'object': {
      validateObjectReference(src.describedObject, `${path}.describedObject`, errs);
      validateMetricIdentifier(src.metric, `${path}.metric`, errs);
      const t = validateMetricTarget(src.target, tp, errs);
      if (unset(t.value) && unset(t.averageValue)) errs.push(required(`${tp}.averageValue`, 'must set either a target value or averageValue'));
      break;
    }
    case 'external': {
      validateMetricIdentifier(src.metric, `${path}.metric`, errs);
      const t = validateMetricTarget(src.target, tp, errs);
      if (unset(t.value) && unset(t.averageValue)) errs.push(required(`${tp}.averageValue`, 'must set either a target value for metric or a per-pod target'));
      if (!unset(t.value) && !unset(t.averageValue)) errs.push(forbidden(`${tp}.value`, 'may not set both a target value for metric and a per-pod target'));
      break;
    }
    case 'pods': {
      validateMetricIdentifier(src.metric, `${path}.metric`, errs);
      const t = validateMetricTarget(src.target, tp, errs);
      if (unset(t.averageValue)) errs.push(required(`${tp}.averageValue`, 'must specify a positive target averageValue'));
      break;
    }
    case 'resource':
    case 'containerResource': {
      if (!str(src.name, `${path}.name`, errs)) errs.push(required(`${path}.name`, 'must specify a resource name'));
      if (field === 'containerResource') {
        const container = str(src.container, `${path}.container`, errs);
        if (!container) errs.push(required(`${path}.container`, 'must specify a container'));
        else for (const m of dns1123LabelErrors(container)) errs.push(invalidValue(`${path}.container`, container, m));
      }
      const t = validateMetricTarget(src.target, tp, errs);
      if (unset(t.averageUtilization) && unset(t.averageValue)) errs.push(required(`${tp}.averageUtilization`, 'must set either a target raw value or a target utilization'));
      if (!unset(t.averageUtilization) && !unset(t.averageValue)) errs.push(forbidden(`${tp}.averageValue`, 'may not set both a target raw value and a target utilization'));
      break;
    }
  }
}

function validateMetricSpec(m: unknown, path: string, errs: FieldError[]): void {
  if (!isObj(m)) return void errs.push(typeInvalid(path, m, 'must be of type object'));
  const type = m.type;
  if (unset(type) || type === '') errs.push(required(`${path}.type`, 'must specify a metric source type'));
  const expected = typeof type === 'string' ? SOURCE_FIELDS[type] : undefined;
  if (!expected) errs.push(notSupported(`${path}.type`, type ?? '', METRIC_TYPES));
  const present = Object.values(SOURCE_FIELDS).filter((f) => !unset(m[f]));
  if (present.length >= 1) {
    const first = present[0];
    if (isObj(m[first])) validateSource(first, m[first] as Obj, `${path}.${first}`, errs);
    else errs.push(typeInvalid(`${path}.${first}`, m[first], 'must be of type object'));
  }
  if (expected && unset(m[expected])) errs.push(required(`${path}.${expected}`, 'must populate information for the given metric source'));
  if (present.length !== 1) for (const f of present) if (f !== expected) errs.push(forbidden(`${path}.${f}`, 'must populate the given metric source only'));
}

function validateScalingRules(rules: unknown, path: string, errs: FieldError[]): void {
  if (unset(rules)) return;
  if (!isObj(rules)) return void errs.push(typeInvalid(path, rules, 'must be of type object'));
  const sws = int(rules.stabilizationWindowSeconds, `${path}.stabilizationWindowSeconds`, errs);
  if (sws !== undefined && sws < 0) errs.push(invalidValue(`${path}.stabilizationWindowSeconds`, sws, 'must be greater than or equal to zero'));
  if (sws !== undefined && sws > MAX_STABILIZATION_WINDOW_SECONDS)
    errs.push(invalidValue(`${path}.stabilizationWindowSeconds`, sws, `must be less than or equal to ${MAX_STABILIZATION_WINDOW_SECONDS}`));
  if (!unset(rules.selectPolicy) && !['Disabled', 'Max', 'Min'].includes(rules.selectPolicy as string))
    errs.push(notSupported(`${path}.selectPolicy`, rules.selectPolicy, ['Disabled', 'Max', 'Min']));
  const policies = Array.isArray(rules.policies) ? rules.policies : [];
  if (policies.length === 0) errs.push(required(`${path}.policies`, 'must specify at least one Policy'));
  policies.forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    const policy = isObj(p) ? p : {};
    if (policy.type !== 'Pods' && policy.type !== 'Percent') errs.push(notSupported(`${pp}.type`, policy.type ?? '', ['Percent', 'Pods']));
    const value = int(policy.value, `${pp}.value`, errs) ?? 0;
    if (value <= 0) errs.push(invalidValue(`${pp}.value`, value, 'must be greater than zero'));
    const period = int(policy.periodSeconds, `${pp}.periodSeconds`, errs) ?? 0;
    if (period <= 0) errs.push(invalidValue(`${pp}.periodSeconds`, period, 'must be greater than zero'));
    if (period > MAX_PERIOD_SECONDS) errs.push(invalidValue(`${pp}.periodSeconds`, period, `must be less than or equal to ${MAX_PERIOD_SECONDS}`));
  });
}

/** upstream ValidateHorizontalPodAutoscalerSpec (minReplicas ≥ 1: HPAScaleToZero is off). */
function validateHPA(hpa: HorizontalPodAutoscaler): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(hpa);
  const min = int(spec.minReplicas, 'spec.minReplicas', errs);
  const max = int(spec.maxReplicas, 'spec.maxReplicas', errs) ?? 0;
  if (min !== undefined && min < 1) errs.push(invalidValue('spec.minReplicas', min, 'must be greater than or equal to 1'));
  if (max < 1) errs.push(invalidValue('spec.maxReplicas', max, 'must be greater than 0'));
  if (min !== undefined && max < min) errs.push(invalidValue('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  validateObjectReference(spec.scaleTargetRef, 'spec.scaleTargetRef', errs);
  if (!unset(spec.metrics) && !Array.isArray(spec.metrics)) errs.push(typeInvalid('spec.metrics', spec.metrics, 'must be of type array'));
  else (spec.metrics as unknown[] | undefined)?.forEach((m, i) => validateMetricSpec(m, `spec.metrics[${i}]`, errs));
  if (!unset(spec.behavior)) {
    if (!isObj(spec.behavior)) errs.push(typeInvalid('spec.behavior', spec.behavior, 'must be of type object'));
    else {
      validateScalingRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp', errs);
      validateScalingRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown', errs);
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Table

/** Quantity.String() of a possibly missing quantity (`<nil>` as Go prints a nil *Quantity). */
function quantityText(v: unknown): string {
  if (unset(v)) return '<nil>';
  try {
    return formatQuantity(parseQuantity(v as string));
  } catch {
    return String(v);
  }
}

const at = (o: unknown, ...keys: string[]): unknown => {
  let cur = o;
  for (const k of keys) cur = isObj(cur) ? cur[k] : undefined;
  return cur;
};

/** upstream formatHPAMetrics: `cpu: 40%/80%`, `<unknown>/500m`, at most two then `+ N more...`. */
export function formatHPAMetrics(specs: unknown, statuses: unknown): string {
  const list = Array.isArray(specs) ? specs : [];
  if (list.length === 0) return '<none>';
  const current = Array.isArray(statuses) ? statuses : [];
  const out: string[] = [];
  list.forEach((spec, i) => {
    const st = current[i];
    switch (at(spec, 'type')) {
      case 'External':
      case 'Object': {
        const f = at(spec, 'type') === 'External' ? 'external' : 'object';
        const target = at(spec, f, 'target');
        if (!unset(at(target, 'averageValue'))) {
          const cur = unset(at(st, f, 'current', 'averageValue')) ? '<unknown>' : quantityText(at(st, f, 'current', 'averageValue'));
          out.push(`${cur}/${quantityText(at(target, 'averageValue'))} (avg)`);
        } else {
          const cur = isObj(at(st, f)) ? quantityText(at(st, f, 'current', 'value')) : '<unknown>';
          out.push(`${cur}/${quantityText(at(target, 'value'))}`);
        }
        break;
      }
      case 'Pods': {
        const cur = isObj(at(st, 'pods')) ? quantityText(at(st, 'pods', 'current', 'averageValue')) : '<unknown>';
        out.push(`${cur}/${quantityText(at(spec, 'pods', 'target', 'averageValue'))}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const f = at(spec, 'type') === 'Resource' ? 'resource' : 'containerResource';
        const name = String(at(spec, f, 'name') ?? '');
        const target = at(spec, f, 'target');
        if (!unset(at(target, 'averageValue'))) {
          const cur = isObj(at(st, f)) ? quantityText(at(st, f, 'current', 'averageValue')) : '<unknown>';
          out.push(`${name}: ${cur}/${quantityText(at(target, 'averageValue'))}`);
        } else {
          const util = at(st, f, 'current', 'averageUtilization');
          const cur = isObj(at(st, f)) && typeof util === 'number' ? `${util}%` : '<unknown>';
          const tu = at(target, 'averageUtilization');
          out.push(`${name}: ${cur}/${typeof tu === 'number' ? `${tu}%` : '<auto>'}`);
        }
        break;
      }
      default:
        out.push('<unknown type>');
    }
  });
  if (out.length > 2) return `${out.slice(0, 2).join(', ')} + ${out.length - 2} more...`;
  return out.join(', ');
}

export function hpaRow(hpa: HorizontalPodAutoscaler, now: number): TableCell[] {
  const spec = specOf(hpa);
  const status = statusOf(hpa);
  const ref = isObj(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
  return [
    hpa.metadata?.name ?? '',
    `${String(ref.kind ?? '')}/${String(ref.name ?? '')}`,
    formatHPAMetrics(spec.metrics, status.currentMetrics),
    typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '<unset>',
    num(spec.maxReplicas),
    num(status.currentReplicas),
    formatAge(hpa.metadata?.creationTimestamp, now),
  ];
}

export const horizontalPodAutoscalerKind: KindInfo<HorizontalPodAutoscaler> = {
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  resource: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  subresources: { status: true },
  strategy: {
    defaults: defaultHPA,
    prepareForCreate(hpa) {
      // the v2 status serializes desiredReplicas and currentMetrics even when unset
      (hpa as Obj).status = { currentMetrics: null, desiredReplicas: 0 };
    },
    validate: validateHPA,
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Reference', type: 'string', description: 'reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.', priority: 0 },
        { name: 'Targets', type: 'string', description: 'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).', priority: 0 },
        { name: 'MinPods', type: 'string', description: 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.', priority: 0 },
        { name: 'MaxPods', type: 'string', description: 'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.', priority: 0 },
        { name: 'Replicas', type: 'string', description: 'currentReplicas is current number of replicas of pods managed by this autoscaler.', priority: 0 },
        AGE_COLUMN,
      ],
      row: hpaRow,
    },
  },
};
