// The default RBAC policy (upstream's bootstrappolicy): cluster-admin, the aggregated admin/edit/view roles
// and their aggregate-to-* parts, the system:* roles every user gets, and the role of our in-process
// components, created when missing and reconciled (missing rules, subjects, labels added) at server start.
import type { ClusterRole, ClusterRoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import { isStatusError } from '../api/errors.js';
import { RBAC_GROUP } from '../api/kinds/rbac.js';
import { deepEqual } from '../api/object.js';
import type { KindInfo, KubeObject } from '../api/types.js';
import { uncoveredRules, type Rule } from './authz/rules.js';
import type { Registry } from './registry.js';

export const BOOTSTRAPPING_LABEL = 'kubernetes.io/bootstrapping';
export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';

/**
 * The service accounts our in-process components authenticate as (`system:serviceaccount:kube-system:<name>`,
 * see src/cli/cluster.ts). Each is bound to its own ClusterRole (COMPONENT_ROLES) holding what it calls; a
 * component added to the cluster needs its name here, and a role there (else it gets COMPONENTS_ROLE).
 */
export const COMPONENT_SERVICE_ACCOUNTS = [
  'bootstrap',
  'namespace-controller',
  'controller-manager',
  'storage-protection',
  'simulated-nodes',
  'coredns',
  'node-agent',
  'ingress-controller',
  'service-proxy',
];
/** Every permission: for a component listed in COMPONENT_SERVICE_ACCOUNTS that has no role of its own. */
export const COMPONENTS_ROLE = 'system:timonel-controllers';

const RW = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ = ['get', 'list', 'watch'];
const ALL_RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const r = (apiGroups: string[], resources: string[], verbs: string[]): Rule => ({ apiGroups, resources, verbs });
const urls = (nonResourceURLs: string[], verbs: string[]): Rule => ({ nonResourceURLs, verbs });

const aggregateTo = (what: string) => `rbac.authorization.k8s.io/aggregate-to-${what}`;

const EVENTS = r(['', 'events.k8s.io'], ['events'], ['create', 'patch', 'update']);
/** The rules of the `system:node` role (what the Node authorizer allows every node before its graph checks). */
export const NODE_ROLE = 'system:node';
export const NODE_BOOTSTRAPPER_ROLE = 'system:node-bootstrapper';

export function nodeRoleRules(): Rule[] {
  return [
    r(['authentication.k8s.io'], ['tokenreviews'], ['create']),
    r(['authorization.k8s.io'], ['localsubjectaccessreviews', 'subjectaccessreviews'], ['create']),
    r([''], ['services'], READ),
    r([''], ['nodes'], ['create', 'get', 'list', 'watch']),
    r([''], ['nodes/status'], ['patch', 'update']),
    r([''], ['nodes'], ['patch', 'update']),
    EVENTS,
    r([''], ['pods'], READ),
    r([''], ['pods'], ['create', 'delete']),
    r([''], ['pods/status'], ['patch', 'update']),
    r([''], ['pods/eviction'], ['create']),
    r([''], ['configmaps', 'secrets'], READ),
    r([''], ['persistentvolumeclaims', 'persistentvolumes'], ['get']),
    r([''], ['endpoints'], ['get']),
    r(['certificates.k8s.io'], ['certificatesigningrequests'], ['create', 'get', 'list', 'watch']),
    r(['coordination.k8s.io'], ['leases'], ['create', 'delete', 'get', 'patch', 'update']),
    r(['storage.k8s.io'], ['volumeattachments'], ['get']),
    r([''], ['serviceaccounts/token'], ['create']),
    r([''], ['persistentvolumeclaims/status'], ['get', 'patch', 'update']),
    r(['storage.k8s.io'], ['csidrivers'], READ),
    r(['storage.k8s.io'], ['csinodes'], ['create', 'delete', 'get', 'patch', 'update']),
    r(['node.k8s.io'], ['runtimeclasses'], READ),
  ];
}

/**
 * Each in-process component's ClusterRole, after upstream's system:controller:* / system:kube-scheduler /
 * system:node-proxier / system:kube-dns roles, narrowed to what our component calls.
 */
export const COMPONENT_ROLES: Record<string, { role: string; rules: Rule[] }> = {
  bootstrap: { role: 'system:timonel:bootstrap', rules: [r(['storage.k8s.io'], ['storageclasses'], ['create', 'get', 'list', 'patch', 'update', 'watch'])] },
  'namespace-controller': {
    role: 'system:controller:namespace-controller',
    rules: [
      r([''], ['namespaces'], ['delete', 'get', 'list', 'watch']),
      r([''], ['namespaces/finalize', 'namespaces/status'], ['update']),
      r(['*'], ['*'], ['delete', 'deletecollection', 'get', 'list', 'watch']),
      EVENTS,
    ],
  },
  // every controller of the controller manager and the scheduler: the garbage collector's and the informers'
  // reach over everything, creates of what the controllers make, and no RBAC, impersonation or token powers
  'controller-manager': {
    role: 'system:timonel:controller-manager',
    rules: [
      r(['*'], ['*'], ['delete', 'get', 'list', 'patch', 'update', 'watch']),
      r([''], ['pods', 'pods/binding', 'bindings', 'configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumes', 'replicationcontrollers', 'serviceaccounts', 'resourcequotas'], ['create']),
      r([''], ['pods/eviction'], ['create']),
      r(['apps'], ['replicasets', 'controllerrevisions', 'deployments', 'statefulsets', 'daemonsets'], ['create']),
      r(['batch'], ['jobs'], ['create']),
      r(['discovery.k8s.io'], ['endpointslices'], ['create', 'deletecollection']),
      r(['coordination.k8s.io'], ['leases'], ['create']),
      r(['policy'], ['poddisruptionbudgets/status'], ['update']),
      r(['authentication.k8s.io'], ['tokenreviews'], ['create']),
      r(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
      r([''], ['pods'], ['deletecollection']),
      EVENTS,
    ],
  },
  'storage-protection': {
    role: 'system:timonel:storage-protection',
    rules: [r([''], ['persistentvolumeclaims', 'persistentvolumes'], ['get', 'list', 'patch', 'update', 'watch']), r([''], ['pods'], READ), EVENTS],
  },
  coredns: { role: 'system:timonel:coredns', rules: [r([''], ['endpoints', 'services', 'pods', 'namespaces'], READ), r(['discovery.k8s.io'], ['endpointslices'], READ)] },
  'service-proxy': {
    role: 'system:timonel:service-proxy',
    rules: [
      r([''], ['endpoints', 'services', 'nodes'], READ),
      r(['discovery.k8s.io'], ['endpointslices'], READ),
      r([''], ['services/status'], ['patch', 'update']),
      EVENTS,
    ],
  },
  'ingress-controller': {
    role: 'system:timonel:ingress-controller',
    rules: [
      r(['networking.k8s.io'], ['ingresses', 'ingressclasses'], READ),
      r(['networking.k8s.io'], ['ingressclasses'], ['create']),
      r(['networking.k8s.io'], ['ingresses/status'], ['patch', 'update']),
      r([''], ['endpoints', 'secrets', 'services'], READ),
      r(['discovery.k8s.io'], ['endpointslices'], READ),
      EVENTS,
    ],
  },
  // nodes run as their service accounts until they authenticate as system:node:<name> (then the Node authorizer applies)
  'node-agent': { role: NODE_ROLE, rules: [] },
  'simulated-nodes': { role: NODE_ROLE, rules: [] },
};

function clusterRole(name: string, rules: Rule[], extra: { labels?: Record<string, string>; aggregateFrom?: string } = {}): ClusterRole {
  const role: ClusterRole = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: { [BOOTSTRAPPING_LABEL]: 'rbac-defaults', ...extra.labels }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
  };
  if (extra.aggregateFrom) return { ...role, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateTo(extra.aggregateFrom)]: 'true' } }] } };
  return { ...role, rules };
}

function binding(name: string, role: string, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { [BOOTSTRAPPING_LABEL]: 'rbac-defaults' }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects,
  };
}

const group = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: 'Group', name });

export function bootstrapClusterRoles(): ClusterRole[] {
  return [
    clusterRole('cluster-admin', [r(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('admin', [], { aggregateFrom: 'admin' }),
    clusterRole('edit', [], { aggregateFrom: 'edit', labels: { [aggregateTo('admin')]: 'true' } }),
    clusterRole('view', [], { aggregateFrom: 'view', labels: { [aggregateTo('edit')]: 'true' } }),
    clusterRole('system:aggregate-to-admin', [r(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']), r([RBAC_GROUP], ['rolebindings', 'roles'], ALL_RW)], {
      labels: { [aggregateTo('admin')]: 'true' },
    }),
    clusterRole(
      'system:aggregate-to-edit',
      [
        r([''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], READ),
        r([''], ['serviceaccounts'], ['impersonate']),
        r([''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], RW),
        r([''], ['pods/eviction'], ['create']),
        r([''], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy'], RW),
        r([''], ['serviceaccounts/token'], ['create']),
        r(['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'], RW),
        r(['autoscaling'], ['horizontalpodautoscalers'], RW),
        r(['batch'], ['cronjobs', 'jobs'], RW),
        r(['extensions'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'ingresses', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale'], RW),
        r(['policy'], ['poddisruptionbudgets'], RW),
        r(['networking.k8s.io'], ['ingresses', 'networkpolicies'], RW),
        r(['coordination.k8s.io'], ['leases'], ALL_RW),
      ],
      { labels: { [aggregateTo('edit')]: 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        r([''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status'], READ),
        r([''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'], READ),
        r([''], ['namespaces'], READ),
        r(['discovery.k8s.io'], ['endpointslices'], READ),
        r(['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'], READ),
        r(['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], READ),
        r(['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], READ),
        r(['extensions'], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale'], READ),
        r(['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status'], READ),
        r(['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies'], READ),
      ],
      { labels: { [aggregateTo('view')]: 'true' } },
    ),
    clusterRole('system:basic-user', [r(['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], ['create']), r(['authentication.k8s.io'], ['selfsubjectreviews'], ['create'])]),
    clusterRole('system:discovery', [urls(['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], ['get'])]),
    clusterRole('system:public-info-viewer', [urls(['/healthz', '/livez', '/readyz', '/version', '/version/'], ['get'])]),
    clusterRole('system:monitoring', [urls(['/healthz', '/healthz/*', '/livez', '/livez/*', '/metrics', '/metrics/slis', '/readyz', '/readyz/*'], ['get'])]),
    clusterRole('system:service-account-issuer-discovery', [urls(['/.well-known/openid-configuration', '/openid/v1/jwks'], ['get'])]),
    clusterRole('system:auth-delegator', [r(['authentication.k8s.io'], ['tokenreviews'], ['create']), r(['authorization.k8s.io'], ['subjectaccessreviews'], ['create'])]),
    clusterRole(COMPONENTS_ROLE, [r(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole(NODE_ROLE, nodeRoleRules()),
    clusterRole(NODE_BOOTSTRAPPER_ROLE, [r(['certificates.k8s.io'], ['certificatesigningrequests'], ['create', 'get', 'list', 'watch'])]),
    ...Object.values(COMPONENT_ROLES)
      .filter((c) => c.rules.length)
      .map((c) => clusterRole(c.role, c.rules)),
  ];
}

export function bootstrapClusterRoleBindings(componentServiceAccounts: readonly string[] = COMPONENT_SERVICE_ACCOUNTS): ClusterRoleBinding[] {
  return [
    binding('cluster-admin', 'cluster-admin', [group('system:masters')]),
    binding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    binding('system:discovery', 'system:discovery', [group('system:authenticated')]),
    binding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    binding('system:monitoring', 'system:monitoring', [group('system:monitoring')]),
    binding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
    // upstream keeps this binding without subjects: nodes get their rights from the Node authorizer
    binding(NODE_ROLE, NODE_ROLE, []),
    binding('timonel:kubelet-bootstrap', NODE_BOOTSTRAPPER_ROLE, [group('system:bootstrappers')]),
    ...componentBindings(componentServiceAccounts),
  ];
}

/** One binding per component role (components sharing a role share its binding); the rest to COMPONENTS_ROLE. */
function componentBindings(names: readonly string[]): ClusterRoleBinding[] {
  const byRole = new Map<string, string[]>();
  for (const name of names) {
    const role = COMPONENT_ROLES[name]?.role ?? COMPONENTS_ROLE;
    byRole.set(role, [...(byRole.get(role) ?? []), name]);
  }
  return [...byRole].map(([role, accounts]) =>
    binding(role === NODE_ROLE ? 'system:timonel:nodes' : role, role, accounts.map((name) => ({ kind: 'ServiceAccount', name, namespace: 'kube-system' }))),
  );
}

const autoupdate = (o: KubeObject) => o.metadata?.annotations?.[AUTOUPDATE_ANNOTATION] !== 'false';

/** Labels and annotations of `want` that `have` lacks, merged into a copy of have's (undefined: nothing to add). */
function mergedMeta(have: Record<string, string> | undefined, want: Record<string, string> | undefined): Record<string, string> | undefined {
  const missing = Object.entries(want ?? {}).filter(([k]) => have?.[k] === undefined);
  return missing.length ? { ...have, ...Object.fromEntries(missing) } : undefined;
}

/** The reconciled form of a stored role or binding, or undefined when it is fine as it is. */
function reconcile(have: KubeObject, want: KubeObject): KubeObject | undefined {
  if (!autoupdate(have)) return undefined;
  const next = structuredClone(have);
  let changed = false;
  const meta = (next.metadata ??= {});
  const labels = mergedMeta(meta.labels, want.metadata?.labels);
  if (labels) ((meta.labels = labels), (changed = true));
  const annotations = mergedMeta(meta.annotations, want.metadata?.annotations);
  if (annotations) ((meta.annotations = annotations), (changed = true));
  if (want.kind === 'ClusterRole') {
    const w = want as KubeObject & ClusterRole;
    const n = next as KubeObject & ClusterRole;
    if (w.aggregationRule) {
      // the rules of an aggregated role belong to the aggregation controller; only the selectors are ours
      const sels = [...(n.aggregationRule?.clusterRoleSelectors ?? [])];
      for (const s of w.aggregationRule.clusterRoleSelectors ?? []) if (!sels.some((x) => deepEqual(x, s))) sels.push(s);
      if (!deepEqual(sels, n.aggregationRule?.clusterRoleSelectors ?? [])) ((n as { aggregationRule?: unknown }).aggregationRule = { clusterRoleSelectors: sels }), (changed = true);
    } else {
      const have = n.rules ?? [];
      const missing = (w.rules ?? []).filter((rule) => uncoveredRules(have, [rule]).length > 0);
      if (missing.length) ((n as { rules?: Rule[] }).rules = [...have, ...missing]), (changed = true);
    }
  } else {
    const w = want as KubeObject & ClusterRoleBinding;
    const n = next as KubeObject & ClusterRoleBinding;
    const subjects = [...(n.subjects ?? [])];
    for (const s of w.subjects ?? []) if (!subjects.some((x) => x.kind === s.kind && x.name === s.name && (x.namespace ?? '') === (s.namespace ?? ''))) subjects.push(s);
    if (subjects.length !== (n.subjects ?? []).length) ((n as { subjects?: Subject[] }).subjects = subjects), (changed = true);
  }
  return changed ? next : undefined;
}

export interface BootstrapPolicyKinds {
  clusterRoles: KindInfo;
  clusterRoleBindings: KindInfo;
}

/** Creates the default roles and bindings that are missing and adds what stored ones lack. */
export async function ensureBootstrapPolicy(registry: Registry, kinds: BootstrapPolicyKinds, componentServiceAccounts?: readonly string[]): Promise<void> {
  const opts = { fieldManager: 'timonel-bootstrap-policy' };
  const put = async (info: KindInfo, want: KubeObject) => {
    const name = want.metadata!.name!;
    const have = await registry.getItem(info, undefined, name);
    if (!have) {
      try {
        await registry.create(info, undefined, structuredClone(want), opts);
      } catch (e) {
        if (!(isStatusError(e) && e.code === 409)) throw e;
      }
      return;
    }
    if (want.kind === 'ClusterRoleBinding' && !deepEqual((have.obj as KubeObject & ClusterRoleBinding).roleRef, (want as KubeObject & ClusterRoleBinding).roleRef)) {
      // a roleRef cannot change: upstream recreates such a binding
      if (!autoupdate(have.obj)) return;
      await registry.delete(info, undefined, name);
      await registry.create(info, undefined, structuredClone(want), opts);
      return;
    }
    if (!reconcile(have.obj, want)) return;
    await registry.guaranteedUpdate(info, undefined, name, (cur) => reconcile(cur!, want) ?? cur!, opts);
  };
  for (const role of bootstrapClusterRoles()) await put(kinds.clusterRoles, role as unknown as KubeObject);
  for (const b of bootstrapClusterRoleBindings(componentServiceAccounts)) await put(kinds.clusterRoleBindings, b as unknown as KubeObject);
}
