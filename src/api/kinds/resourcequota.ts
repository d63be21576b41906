import type { ResourceQuota } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue, required } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { isObj, str, list, obj, dig, FIELD_IMMUTABLE } from './checks.js';
import { quotaResourceNameErrors, quantityErrors, quantityText, resourceList, canonicalizeResourceList } from './resources.js';

const SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];
const POD_COMPUTE = new Set(['cpu', 'memory', 'limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory']);
const STANDARD_QUOTA_NAMES = new Set([
  'pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'services', 'services.loadbalancers', 'services.nodeports', 'secrets',
  'configmaps', 'persistentvolumeclaims', 'replicationcontrollers', 'resourcequotas',
]);
const CONFLICTING = [
  ['BestEffort', 'NotBestEffort'],
  ['Terminating', 'NotTerminating'],
];

function scopeValidFor(scope: string, resource: string): boolean {
  switch (scope) {
    case 'Terminating':
    case 'NotTerminating':
    case 'NotBestEffort':
    case 'PriorityClass':
    case 'CrossNamespacePodAffinity':
      return resource === 'pods' || POD_COMPUTE.has(resource);
    case 'BestEffort':
      return resource === 'pods';
  }
  return true;
}

function validateHard(v: unknown, path: string, errs: FieldError[]): string[] {
  const rl = resourceList(v, path, errs);
  for (const [k, q] of Object.entries(rl)) errs.push(...quotaResourceNameErrors(k, `${path}[${k}]`), ...quantityErrors(k, q, `${path}[${k}]`));
  return Object.keys(rl).sort();
}

function validateQuota(rq: ResourceQuota): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(rq.spec, 'spec', errs) ?? {};
  const hard = validateHard(spec.hard, 'spec.hard', errs);
  const scopes = list(spec.scopes, 'spec.scopes', errs);
  const seen = new Set<string>();
  for (const s of scopes) {
    const scope = String(s);
    if (!SCOPES.includes(scope)) errs.push(invalidValue('spec.scopes', scopes, 'unsupported scope'));
    for (const k of hard) if (STANDARD_QUOTA_NAMES.has(k) && !scopeValidFor(scope, k)) errs.push(invalidValue('spec.scopes', scopes, 'unsupported scope applied to resource'));
    seen.add(scope);
  }
  for (const [a, b] of CONFLICTING) if (seen.has(a) && seen.has(b)) errs.push(invalidValue('spec.scopes', scopes, 'conflicting scopes'));
  const sel = obj(spec.scopeSelector, 'spec.scopeSelector', errs);
  if (sel) {
    const fp = 'spec.scopeSelector.matchExpressions';
    const selected = new Set<string>();
    for (const x of list(sel.matchExpressions, fp, errs)) {
      const req = isObj(x) ? x : {};
      const scope = str(req.scopeName, `${fp}.scopeName`, errs);
      const op = str(req.operator, `${fp}.operator`, errs);
      const values = list(req.values, `${fp}.values`, errs);
      if (!SCOPES.includes(scope)) errs.push(invalidValue(`${fp}.scopeName`, scope, 'unsupported scope'));
      for (const k of hard) if (STANDARD_QUOTA_NAMES.has(k) && !scopeValidFor(scope, k)) errs.push(invalidValue(fp, sel, 'unsupported scope applied to resource'));
      if (scope !== 'PriorityClass' && SCOPES.includes(scope) && op !== 'Exists')
        errs.push(
          invalidValue(
            `${fp}.operator`,
            op,
            "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
          ),
        );
      if (op === 'In' || op === 'NotIn') {
        if (values.length === 0) errs.push(required(`${fp}.values`, "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"));
      } else if (op === 'Exists' || op === 'DoesNotExist') {
        if (values.length !== 0) errs.push(invalidValue(`${fp}.values`, values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"));
      } else errs.push(invalidValue(`${fp}.operator`, op, 'not a valid selector operator'));
      selected.add(scope);
    }
    for (const [a, b] of CONFLICTING) if (selected.has(a) && selected.has(b)) errs.push(invalidValue(fp, scopes, 'conflicting scopes'));
  }
  validateHard(dig(rq.status, 'hard'), 'status.hard', errs);
  validateHard(dig(rq.status, 'used'), 'status.used', errs);
  return errs;
}

/** The REQUEST and LIMIT cells: `resource: used/hard` for each hard limit, split on the `limits.` prefix. */
export function quotaCells(rq: ResourceQuota): [string, string] {
  const hard = isObj(dig(rq.status, 'hard')) ? (dig(rq.status, 'hard') as Record<string, unknown>) : {};
  const used = isObj(dig(rq.status, 'used')) ? (dig(rq.status, 'used') as Record<string, unknown>) : {};
  const request: string[] = [];
  const limit: string[] = [];
  for (const r of Object.keys(hard).sort()) {
    const cell = `${r}: ${used[r] === undefined ? '0' : quantityText(used[r])}/${quantityText(hard[r])}`;
    const pieces = r.split('.');
    (pieces.length > 1 && pieces[0] === 'limits' ? limit : request).push(cell);
  }
  return [request.join(', '), limit.join(', ')];
}

/** Quantities are written in canonical form (upstream SetDefaults_ResourceList). */
function defaultQuota(rq: ResourceQuota): void {
  if (!isObj(rq.spec)) rq.spec = {};
  canonicalizeResourceList(dig(rq.spec, 'hard'));
  canonicalizeResourceList(dig(rq.status, 'hard'));
  canonicalizeResourceList(dig(rq.status, 'used'));
}

export const resourceQuotaKind: KindInfo<ResourceQuota> = {
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  resource: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  subresources: { status: true },
  strategy: {
    defaults: defaultQuota,
    prepareForStatusUpdate: defaultQuota,
    prepareForCreate(rq) {
      Object.assign(rq, { status: {} });
    },
    validate: validateQuota,
    validateUpdate(rq, old) {
      const scopes = (v: unknown) => [...new Set(Array.isArray(v) ? v.map(String) : [])].sort().join('\u0000');
      const next = dig(rq.spec, 'scopes');
      if (scopes(next) !== scopes(dig(old.spec, 'scopes'))) return [invalidValue('spec.scopes', next ?? null, FIELD_IMMUTABLE)];
      return [];
    },
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Request', type: 'string', description: 'Request represents a minimum amount of cpu/memory that a container may consume.', priority: 0 },
        { name: 'Limit', type: 'string', description: 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (rq, now) => [rq.metadata?.name ?? '', ...quotaCells(rq), formatAge(rq.metadata?.creationTimestamp, now)],
    },
  },
};
