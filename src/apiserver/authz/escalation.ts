// Escalation prevention for RBAC writes (upstream's policy-based RBAC storage): a user may only create or
// change a Role or ClusterRole whose rules they hold themselves (or with the `escalate` verb on it), and
// only bind a role whose rules they hold (or with the `bind` verb on it). Writes the server makes itself
// (bootstrap policy, aggregation) carry no requester and are not checked.
import type { AggregationRule, ClusterRole, PolicyRule, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { errForbidden, errNotFound } from '../../api/errors.js';
import { RBAC_GROUP } from '../../api/kinds/rbac.js';
import { deepEqual } from '../../api/object.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin, UserInfo } from '../registry.js';
import { aggregate, type RBACAuthorizer, SYSTEM_MASTERS } from './rbac.js';
import { compactRules, ruleString, uncoveredRules, type Attributes, type Rule } from './rules.js';

const FULL_AUTHORITY: Rule[] = [
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
];

const goStrings = (l: readonly string[]) => `[${l.map((s) => JSON.stringify(s)).join(' ')}]`;

function resourceAttributes(user: UserInfo, verb: string, resource: string, name: string, namespace: string): Attributes {
  return { user, verb, resourceRequest: true, path: '', namespace, apiGroup: RBAC_GROUP, apiVersion: 'v1', resource, subresource: '', name };
}

/** An error text when `user` does not hold every one of `rules` in `namespace`. */
export function escalationError(authz: RBACAuthorizer, user: UserInfo, namespace: string, rules: readonly Rule[]): string | undefined {
  const held = authz.rulesFor(user, namespace);
  const missing = uncoveredRules(held.rules, rules);
  if (!missing.length) return undefined;
  const lines = [...new Set(compactRules(missing).map(ruleString))].sort();
  let msg = `user ${JSON.stringify(user.username)} (groups=${goStrings(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
  if (held.errors.length) msg += `; resolution errors: ${aggregate(held.errors)}`;
  return msg;
}

// The acting user reaches admission plugins as `ctx.user` (AdmissionContext, src/apiserver/registry.ts), passed
// explicitly by the handler: no AsyncLocalStorage (on Node 20 it slows every promise of every request).

type RoleLike = KubeObject & { rules?: PolicyRule[]; aggregationRule?: AggregationRule };

export function rbacEscalationCheck(authz: RBACAuthorizer): AdmissionPlugin {
  const forbidden = (info: KindInfo, name: string, why: string) =>
    errForbidden(`${info.resource}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: ${why}`, { name, group: RBAC_GROUP, kind: info.resource });

  const checkRole = (info: KindInfo, role: RoleLike, old: RoleLike | undefined, user: UserInfo) => {
    const name = role.metadata?.name ?? '';
    const namespace = info.namespaced ? (role.metadata?.namespace ?? '') : '';
    if (old && deepEqual(role.rules ?? [], old.rules ?? []) && deepEqual(role.aggregationRule, old.aggregationRule) && deepEqual(role.metadata?.labels, old.metadata?.labels)) return;
    if (authz.authorize(resourceAttributes(user, 'escalate', info.resource, name, namespace)).allowed) return;
    const err = escalationError(authz, user, namespace, role.rules ?? []);
    if (err) throw forbidden(info, name, err);
    const agg = (role as ClusterRole).aggregationRule;
    if (agg && !(old && deepEqual(agg, old.aggregationRule)) && escalationError(authz, user, '', FULL_AUTHORITY))
      throw forbidden(info, name, 'must have cluster-admin privileges to use the aggregationRule');
  };

  const checkBinding = (info: KindInfo, binding: KubeObject & RoleBinding, old: (KubeObject & RoleBinding) | undefined, user: UserInfo) => {
    const name = binding.metadata?.name ?? '';
    const namespace = info.namespaced ? (binding.metadata?.namespace ?? '') : '';
    const ref = binding.roleRef;
    if (old && deepEqual(ref, old.roleRef) && deepEqual(binding.subjects ?? [], old.subjects ?? [])) return;
    const roleResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
    if (authz.authorize(resourceAttributes(user, 'bind', roleResource, ref.name, namespace)).allowed) return;
    const { rules } = authz.roleRules(ref.kind, ref.name, namespace);
    if (!rules) throw errNotFound({ group: RBAC_GROUP, resource: roleResource }, ref.name);
    const err = escalationError(authz, user, namespace, rules);
    if (err) throw forbidden(info, name, err);
  };

  return {
    name: 'RBACEscalation',
    admit(op, info, obj, old, _reg, ctx) {
      if (op === 'delete' || info.group !== RBAC_GROUP) return;
      const user = ctx?.user;
      if (!user || user.groups.includes(SYSTEM_MASTERS)) return;
      if (info.resource === 'roles' || info.resource === 'clusterroles') return checkRole(info, obj as RoleLike, old as RoleLike | undefined, user);
      if (info.resource === 'rolebindings' || info.resource === 'clusterrolebindings')
        return checkBinding(info, obj as KubeObject & RoleBinding, old as (KubeObject & RoleBinding) | undefined, user);
    },
  };
}
