// Per-component least privilege: each in-process component's service account holds its own ClusterRole,
// enough for what it calls and no more.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { authorizationOf, type InstalledAuthorization } from '../../src/apiserver/authz/index.js';
import type { Attributes } from '../../src/apiserver/authz/rules.js';
import { COMPONENT_ROLES, COMPONENT_SERVICE_ACCOUNTS, COMPONENTS_ROLE } from '../../src/apiserver/bootstrap-policy.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';

let authz: InstalledAuthorization;

const can = (component: string, verb: string, resource: string, o: { group?: string; subresource?: string; namespace?: string; name?: string } = {}) => {
  const a: Attributes = {
    user: { username: `system:serviceaccount:kube-system:${component}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
    verb,
    resourceRequest: true,
    path: '',
    namespace: o.namespace ?? 'default',
    apiGroup: o.group ?? '',
    apiVersion: 'v1',
    resource,
    subresource: o.subresource ?? '',
    name: o.name ?? '',
  };
  return authz.authorizer.authorize(a).allowed;
};

describe('component roles', () => {
  before(async () => {
    const api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: () => undefined, serverAddress: 'x' });
    authz = authorizationOf(api)!;
    await authz.ready;
  });

  it('binds every component to its own role, none to the all-powerful one', () => {
    for (const name of COMPONENT_SERVICE_ACCOUNTS) assert.ok(COMPONENT_ROLES[name], `${name} has no role`);
    const all = [...authz.cache.clusterRoleBindings.values()];
    assert.equal(
      all.some((b) => b.roleRef.name === COMPONENTS_ROLE),
      false,
    );
    for (const name of COMPONENT_SERVICE_ACCOUNTS) {
      const b = all.find((x) => x.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === 'kube-system'));
      assert.equal(b?.roleRef.name, COMPONENT_ROLES[name].role, name);
    }
  });

  it('gives each component what it calls', () => {
    assert.ok(can('controller-manager', 'create', 'pods', { subresource: 'binding' }));
    assert.ok(can('controller-manager', 'delete', 'deployments', { group: 'apps' }));
    assert.ok(can('controller-manager', 'create', 'replicasets', { group: 'apps' }));
    assert.ok(can('controller-manager', 'update', 'jobs', { group: 'batch', subresource: 'status' }));
    assert.ok(can('namespace-controller', 'deletecollection', 'configmaps'));
    assert.ok(can('namespace-controller', 'update', 'namespaces', { subresource: 'finalize', namespace: '' }));
    assert.ok(can('coredns', 'watch', 'endpointslices', { group: 'discovery.k8s.io', namespace: '' }));
    assert.ok(can('service-proxy', 'update', 'services', { subresource: 'status' }));
    assert.ok(can('ingress-controller', 'list', 'secrets', { namespace: '' }));
    assert.ok(can('ingress-controller', 'create', 'ingressclasses', { group: 'networking.k8s.io', namespace: '' }));
    assert.ok(can('bootstrap', 'create', 'storageclasses', { group: 'storage.k8s.io', namespace: '' }));
    assert.ok(can('simulated-nodes', 'patch', 'pods', { subresource: 'status' }));
    assert.ok(can('node-agent', 'create', 'leases', { group: 'coordination.k8s.io', namespace: 'kube-node-lease' }));
  });

  it('refuses what a component does not need', () => {
    assert.equal(can('coredns', 'get', 'secrets'), false);
    assert.equal(can('coredns', 'create', 'pods'), false);
    assert.equal(can('service-proxy', 'update', 'services'), false);
    assert.equal(can('ingress-controller', 'create', 'pods'), false);
    assert.equal(can('bootstrap', 'list', 'secrets'), false);
    assert.equal(can('controller-manager', 'create', 'clusterrolebindings', { group: 'rbac.authorization.k8s.io', namespace: '' }), false);
    assert.equal(can('controller-manager', 'impersonate', 'users', { namespace: '' }), false);
    assert.equal(can('controller-manager', 'create', 'pods', { subresource: 'exec' }), false);
    assert.equal(can('controller-manager', 'create', 'secrets'), false);
    assert.equal(can('namespace-controller', 'create', 'pods'), false);
    assert.equal(can('simulated-nodes', 'create', 'deployments', { group: 'apps' }), false);
    assert.equal(can('node-agent', 'delete', 'nodes', { namespace: '' }), false);
  });
});
