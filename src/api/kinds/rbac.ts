// rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and ClusterRoleBinding.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { type FieldError, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { validateLabelSelector } from '../labels.js';
import { formatAge } from '../names.js';
import { isPlainObject } from '../object.js';
import type { KindInfo, KubeObject, TableColumn, TableConvertor } from '../types.js';
import { dns1123SubdomainErrors, nameIsPathSegment } from '../validation.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

type RoleObject = Role & KubeObject;
type ClusterRoleObject = ClusterRole & KubeObject;
type RoleBindingObject = RoleBinding & KubeObject;
type ClusterRoleBindingObject = ClusterRoleBinding & KubeObject;

const absent = (v: unknown) => v === undefined || v === null;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A list field as read during validation: [] when absent, undefined (with an error) when not a list of strings. */
function stringList(v: unknown, path: string, errs: FieldError[]): string[] | undefined {
  if (absent(v)) return [];
  if (!Array.isArray(v)) return void errs.push(typeInvalid(path, v, 'must be of type array'));
  const bad = v.findIndex((s) => typeof s !== 'string');
  if (bad >= 0) return void errs.push(typeInvalid(`${path}[${bad}]`, v[bad], 'must be of type string'));
  return v as string[];
}

/** Upstream ValidatePolicyRule. */
export function policyRuleErrors(rule: unknown, namespaced: boolean, path: string): FieldError[] {
  if (!isPlainObject(rule)) return [typeInvalid(path, rule, 'must be of type object')];
  const errs: FieldError[] = [];
  const verbs = stringList(rule.verbs, `${path}.verbs`, errs);
  const urls = stringList(rule.nonResourceURLs, `${path}.nonResourceURLs`, errs);
  const groups = stringList(rule.apiGroups, `${path}.apiGroups`, errs);
  const resources = stringList(rule.resources, `${path}.resources`, errs);
  const names = stringList(rule.resourceNames, `${path}.resourceNames`, errs);
  if (!verbs || !urls || !groups || !resources || !names) return errs;
  if (verbs.length === 0) errs.push(required(`${path}.verbs`, 'verbs must contain at least one value'));
  if (urls.length > 0) {
    if (namespaced) errs.push(invalidValue(`${path}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
    if (groups.length > 0 || resources.length > 0 || names.length > 0)
      errs.push(invalidValue(`${path}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'));
    return errs;
  }
  if (groups.length === 0) errs.push(required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  if (resources.length === 0) errs.push(required(`${path}.resources`, 'resource rules must supply at least one resource'));
  return errs;
}

function rulesErrors(rules: unknown, namespaced: boolean): FieldError[] {
  if (absent(rules)) return [];
  if (!Array.isArray(rules)) return [typeInvalid('rules', rules, 'must be of type array')];
  return rules.flatMap((r: unknown, i) => policyRuleErrors(r, namespaced, `rules[${i}]`));
}

function aggregationRuleErrors(agg: unknown): FieldError[] {
  if (absent(agg)) return [];
  if (!isPlainObject(agg)) return [typeInvalid('aggregationRule', agg, 'must be of type object')];
  const path = 'aggregationRule.clusterRoleSelectors';
  const sels = agg.clusterRoleSelectors;
  if (!absent(sels) && !Array.isArray(sels)) return [typeInvalid(path, sels, 'must be of type array')];
  if (!Array.isArray(sels) || sels.length === 0) return [required(path, 'at least one clusterRoleSelector required if aggregationRule is non-nil')];
  return sels.flatMap((s: unknown, i) =>
    isPlainObject(s) ? validateLabelSelector(s as LabelSelector, `${path}[${i}]`) : [typeInvalid(`${path}[${i}]`, s, 'must be of type object')],
  );
}

/** Upstream SetDefaults_Subject: User and Group subjects belong to the RBAC API group. */
function defaultSubjects(subjects: unknown): void {
  if (!Array.isArray(subjects)) return;
  for (const s of subjects) {
    if (!isPlainObject(s) || (s.apiGroup !== undefined && s.apiGroup !== null && s.apiGroup !== '')) continue;
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

function defaultBinding(b: RoleBindingObject | ClusterRoleBindingObject): void {
  if (absent(b.roleRef)) (b as Record<string, unknown>).roleRef = { apiGroup: RBAC_GROUP };
  else if (isPlainObject(b.roleRef) && (absent(b.roleRef.apiGroup) || b.roleRef.apiGroup === '')) b.roleRef.apiGroup = RBAC_GROUP;
  defaultSubjects(b.subjects);
}

function subjectErrors(subject: unknown, namespaced: boolean, path: string): FieldError[] {
  if (!isPlainObject(subject)) return [typeInvalid(path, subject, 'must be of type object')];
  const errs: FieldError[] = [];
  for (const f of ['kind', 'name', 'apiGroup', 'namespace'])
    if (!absent(subject[f]) && typeof subject[f] !== 'string') errs.push(typeInvalid(`${path}.${f}`, subject[f], 'must be of type string'));
  if (errs.length) return errs;
  const name = str(subject.name);
  const apiGroup = str(subject.apiGroup);
  if (name === '') errs.push(required(`${path}.name`));
  switch (subject.kind) {
    case 'ServiceAccount':
      if (name) for (const m of dns1123SubdomainErrors(name)) errs.push(invalidValue(`${path}.name`, name, m));
      if (apiGroup) errs.push(notSupported(`${path}.apiGroup`, apiGroup, ['']));
      if (!namespaced && str(subject.namespace) === '') errs.push(required(`${path}.namespace`));
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) errs.push(notSupported(`${path}.apiGroup`, apiGroup, [RBAC_GROUP]));
      break;
    default:
      errs.push(notSupported(`${path}.kind`, subject.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

function bindingErrors(b: RoleBindingObject | ClusterRoleBindingObject, namespaced: boolean): FieldError[] {
  const ref = b.roleRef as unknown;
  if (!isPlainObject(ref)) return [typeInvalid('roleRef', ref, 'must be of type object')];
  const errs: FieldError[] = [];
  for (const f of ['apiGroup', 'kind', 'name'])
    if (!absent(ref[f]) && typeof ref[f] !== 'string') errs.push(typeInvalid(`roleRef.${f}`, ref[f], 'must be of type string'));
  if (errs.length) return errs;
  if (str(ref.apiGroup) !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', str(ref.apiGroup), [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(str(ref.kind))) errs.push(notSupported('roleRef.kind', str(ref.kind), kinds));
  const name = str(ref.name);
  if (name === '') errs.push(required('roleRef.name'));
  else for (const m of nameIsPathSegment(name, false)) errs.push(invalidValue('roleRef.name', name, m));
  const subjects = b.subjects as unknown;
  if (!absent(subjects) && !Array.isArray(subjects)) errs.push(typeInvalid('subjects', subjects, 'must be of type array'));
  else ((subjects ?? []) as unknown[]).forEach((s, i) => errs.push(...subjectErrors(s, namespaced, `subjects[${i}]`)));
  return errs;
}

function roleRefChanged(b: RoleBindingObject | ClusterRoleBindingObject, old: RoleBindingObject | ClusterRoleBindingObject): FieldError[] {
  const n = (b.roleRef ?? {}) as unknown as Record<string, unknown>;
  const o = (old.roleRef ?? {}) as unknown as Record<string, unknown>;
  if (str(n.apiGroup) !== str(o.apiGroup) || str(n.kind) !== str(o.kind) || str(n.name) !== str(o.name))
    return [invalidValue('roleRef', b.roleRef, 'cannot change roleRef')];
  return [];
}

/** Upstream rbac.SubjectsStrings: users, groups and `namespace/name` of service accounts. */
export function subjectsStrings(subjects: unknown): { users: string[]; groups: string[]; serviceAccounts: string[] } {
  const out = { users: [] as string[], groups: [] as string[], serviceAccounts: [] as string[] };
  if (!Array.isArray(subjects)) return out;
  for (const s of subjects) {
    if (!isPlainObject(s)) continue;
    if (s.kind === 'ServiceAccount') out.serviceAccounts.push(`${str(s.namespace)}/${str(s.name)}`);
    else if (s.kind === 'User') out.users.push(str(s.name));
    else if (s.kind === 'Group') out.groups.push(str(s.name));
  }
  return out;
}

const NAME_COLUMN: TableColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };

/** Roles have no printer upstream: the API server's default table (NAME, CREATED AT in RFC 3339). */
const createdAtTable: TableConvertor<KubeObject> = {
  columns: [NAME_COLUMN, { name: 'Created At', type: 'date', description: 'Time the object was created.', priority: 0 }],
  row: (obj) => {
    const ts = obj.metadata?.creationTimestamp;
    const ms = ts ? Date.parse(ts) : NaN;
    return [obj.metadata?.name ?? '', Number.isNaN(ms) ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')];
  },
};

function bindingTable(what: string): TableConvertor<RoleBindingObject | ClusterRoleBindingObject> {
  return {
    columns: [
      NAME_COLUMN,
      { name: 'Role', type: 'string', description: `The role the ${what} refers to.`, priority: 0 },
      { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
      { name: 'Users', type: 'string', description: `Users in the ${what}`, priority: 1 },
      { name: 'Groups', type: 'string', description: `Groups in the ${what}`, priority: 1 },
      { name: 'ServiceAccounts', type: 'string', description: `ServiceAccounts in the ${what}`, priority: 1 },
    ],
    row: (b, now) => {
      const ref = (isPlainObject(b.roleRef) ? b.roleRef : {}) as Record<string, unknown>;
      const { users, groups, serviceAccounts } = subjectsStrings(b.subjects);
      return [
        b.metadata?.name ?? '',
        `${str(ref.kind)}/${str(ref.name)}`,
        formatAge(b.metadata?.creationTimestamp, now),
        users.join(', '),
        groups.join(', '),
        serviceAccounts.join(', '),
      ];
    },
  };
}

// Upstream lets PUT create every RBAC object (policy reconcilers rely on it).
const RBAC = { group: RBAC_GROUP, version: 'v1', nameValidator: nameIsPathSegment, allowCreateOnUpdate: true } as const;

export const roleKind: KindInfo<RoleObject> = {
  ...RBAC,
  kind: 'Role',
  resource: 'roles',
  singular: 'role',
  namespaced: true,
  strategy: {
    validate: (role) => rulesErrors(role.rules, true),
    table: createdAtTable,
  },
};

export const clusterRoleKind: KindInfo<ClusterRoleObject> = {
  ...RBAC,
  kind: 'ClusterRole',
  resource: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  strategy: {
    validate: (role) => [...rulesErrors(role.rules, false), ...aggregationRuleErrors(role.aggregationRule)],
    table: createdAtTable,
  },
};

export const roleBindingKind: KindInfo<RoleBindingObject> = {
  ...RBAC,
  kind: 'RoleBinding',
  resource: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  strategy: {
    defaults: defaultBinding,
    validate: (b) => bindingErrors(b, true),
    validateUpdate: roleRefChanged,
    table: bindingTable('roleBinding'),
  },
};

export const clusterRoleBindingKind: KindInfo<ClusterRoleBindingObject> = {
  ...RBAC,
  kind: 'ClusterRoleBinding',
  resource: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  strategy: {
    defaults: defaultBinding,
    validate: (b) => bindingErrors(b, false),
    validateUpdate: roleRefChanged,
    table: bindingTable('clusterRoleBinding'),
  },
};
