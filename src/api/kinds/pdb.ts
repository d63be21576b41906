// policy/v1 PodDisruptionBudget: the strategy (status cleared on create, generation kept), upstream
// ValidatePodDisruptionBudgetSpec and the printer.
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { type FieldError, invalidValue, notSupported, typeInvalid } from '../errors.js';
import { validateLabelSelector } from '../labels.js';
import { formatAge } from '../names.js';
import type { KindInfo, TableCell } from '../types.js';
import { type Obj, isObj } from './checks.js';
import { AGE_COLUMN, NAME_COLUMN, intOrStringText, notMoreThan100Percent, num, specOf, statusOf, validatePositiveIntOrPercent } from './workload-common.js';

const unset = (v: unknown) => v === undefined || v === null;
const EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];

function validatePDB(pdb: PodDisruptionBudget): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(pdb);
  if (!unset(spec.minAvailable) && !unset(spec.maxUnavailable)) errs.push(invalidValue('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  for (const k of ['minAvailable', 'maxUnavailable']) {
    if (unset(spec[k])) continue;
    errs.push(...validatePositiveIntOrPercent(spec[k], `spec.${k}`));
    errs.push(...notMoreThan100Percent(spec[k], `spec.${k}`));
  }
  if (isObj(spec.selector)) errs.push(...validateLabelSelector(spec.selector as LabelSelector, 'spec.selector'));
  else if (!unset(spec.selector)) errs.push(typeInvalid('spec.selector', spec.selector, 'must be of type object'));
  if (!unset(spec.unhealthyPodEvictionPolicy) && !EVICTION_POLICIES.includes(spec.unhealthyPodEvictionPolicy as string))
    errs.push(notSupported('spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, EVICTION_POLICIES));
  return errs;
}

export function pdbRow(pdb: PodDisruptionBudget, now: number): TableCell[] {
  const spec = specOf(pdb);
  return [
    pdb.metadata?.name ?? '',
    unset(spec.minAvailable) ? 'N/A' : intOrStringText(spec.minAvailable),
    unset(spec.maxUnavailable) ? 'N/A' : intOrStringText(spec.maxUnavailable),
    num(statusOf(pdb).disruptionsAllowed),
    formatAge(pdb.metadata?.creationTimestamp, now),
  ];
}

export const podDisruptionBudgetKind: KindInfo<PodDisruptionBudget> = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  resource: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  generation: true,
  subresources: { status: true },
  strategy: {
    prepareForCreate(pdb) {
      (pdb as Obj).status = { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 };
    },
    validate: validatePDB,
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Min Available', type: 'string', description: 'The minimum number of pods that must be available.', priority: 0 },
        { name: 'Max Unavailable', type: 'string', description: 'The maximum number of pods that may be unavailable.', priority: 0 },
        { name: 'Allowed Disruptions', type: 'integer', description: 'Calculated number of pods that may be disrupted at this time.', priority: 0 },
        AGE_COLUMN,
      ],
      row: pdbRow,
    },
  },
};
