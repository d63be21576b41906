// RBAC: rule matching, request attributes, coverage (escalation), the authorizer over its watch-fed
// caches, the default policy, ClusterRole aggregation and escalation prevention on the registry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { isStatusError } from '../../src/api/errors.js';
import type { KindInfo } from '../../src/api/types.js';
import { authorizationOf, type InstalledAuthorization } from '../../src/apiserver/authz/index.js';
import { forbidden } from '../../src/apiserver/authz/filter.js';
import { requestAttributes } from '../../src/apiserver/authz/request-info.js';
import { ruleAllows, uncoveredRules, type Attributes, type Rule } from '../../src/apiserver/authz/rules.js';
import { newApiServer } from '../../src/apiserver/server.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import type { UserInfo } from '../../src/apiserver/registry.js';
import { MemoryStore } from '../../src/storage/memory.js';

const alice: UserInfo = { username: 'alice', groups: ['devs', 'system:authenticated'] };

function attrs(verb: string, resource: string, o: Partial<Attributes> = {}): Attributes {
  return { user: alice, verb, resourceRequest: true, path: '', namespace: 'default', apiGroup: '', apiVersion: 'v1', resource, subresource: '', name: '', ...o };
}
const nonResource = (verb: string, path: string): Attributes => ({ ...attrs(verb, ''), resourceRequest: false, path, namespace: '' });

describe('rule matching', () => {
  it('matches verbs, groups and resources exactly or by *', () => {
    const rule: Rule = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] };
    assert.equal(ruleAllows(attrs('get', 'pods'), rule), true);
    assert.equal(ruleAllows(attrs('create', 'pods'), rule), false);
    assert.equal(ruleAllows(attrs('get', 'services'), rule), false);
    assert.equal(ruleAllows(attrs('get', 'pods', { apiGroup: 'apps' }), rule), false);
    assert.equal(ruleAllows(attrs('delete', 'deployments', { apiGroup: 'apps' }), { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }), true);
  });
  it('subresources: `resource/sub` and `*/sub`, never the bare resource', () => {
    assert.equal(ruleAllows(attrs('get', 'pods', { subresource: 'log' }), { apiGroups: [''], resources: ['pods'], verbs: ['get'] }), false);
    assert.equal(ruleAllows(attrs('get', 'pods', { subresource: 'log' }), { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }), true);
    const scale: Rule = { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] };
    assert.equal(ruleAllows(attrs('update', 'deployments', { apiGroup: 'apps', subresource: 'scale' }), scale), true);
    assert.equal(ruleAllows(attrs('update', 'deployments', { apiGroup: 'apps', subresource: 'status' }), scale), false);
    assert.equal(ruleAllows(attrs('update', 'deployments', { apiGroup: 'apps' }), scale), false);
  });
  it('resourceNames limit the rule to those objects', () => {
    const rule: Rule = { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['cfg'] };
    assert.equal(ruleAllows(attrs('get', 'configmaps', { name: 'cfg' }), rule), true);
    assert.equal(ruleAllows(attrs('get', 'configmaps', { name: 'other' }), rule), false);
    assert.equal(ruleAllows(attrs('get', 'configmaps'), rule), false);
  });
  it('nonResourceURLs: exact, trailing *, and *', () => {
    const rule: Rule = { nonResourceURLs: ['/healthz', '/apis/*'], verbs: ['get'] };
    assert.equal(ruleAllows(nonResource('get', '/healthz'), rule), true);
    assert.equal(ruleAllows(nonResource('get', '/healthz/etcd'), rule), false);
    assert.equal(ruleAllows(nonResource('get', '/apis/apps/v1'), rule), true);
    assert.equal(ruleAllows(nonResource('post', '/apis/apps/v1'), rule), false);
    assert.equal(ruleAllows(nonResource('get', '/metrics'), { nonResourceURLs: ['*'], verbs: ['*'] }), true);
    assert.equal(ruleAllows(attrs('get', 'pods'), rule), false);
  });
});

describe('request attributes', () => {
  const q = (s = '') => new URLSearchParams(s);
  const at = (method: string, path: string, query = '') => {
    const a = requestAttributes(alice, method, path, q(query));
    return [a.resourceRequest, a.verb, a.apiGroup, a.namespace, a.resource, a.subresource, a.name];
  };
  it('collections: list, watch, deletecollection; objects: get, update, patch, delete', () => {
    assert.deepEqual(at('GET', '/api/v1/namespaces/ns1/pods'), [true, 'list', '', 'ns1', 'pods', '', '']);
    assert.deepEqual(at('GET', '/api/v1/namespaces/ns1/pods', 'watch=true'), [true, 'watch', '', 'ns1', 'pods', '', '']);
    assert.deepEqual(at('GET', '/api/v1/watch/namespaces/ns1/pods'), [true, 'watch', '', 'ns1', 'pods', '', '']);
    assert.deepEqual(at('DELETE', '/apis/apps/v1/namespaces/ns1/deployments'), [true, 'deletecollection', 'apps', 'ns1', 'deployments', '', '']);
    assert.deepEqual(at('GET', '/apis/apps/v1/namespaces/ns1/deployments/web'), [true, 'get', 'apps', 'ns1', 'deployments', '', 'web']);
    assert.deepEqual(at('PUT', '/apis/apps/v1/namespaces/ns1/deployments/web/scale'), [true, 'update', 'apps', 'ns1', 'deployments', 'scale', 'web']);
    assert.deepEqual(at('PATCH', '/api/v1/nodes/n1/status'), [true, 'patch', '', '', 'nodes', 'status', 'n1']);
    assert.deepEqual(at('POST', '/api/v1/namespaces/ns1/pods/p/eviction'), [true, 'create', '', 'ns1', 'pods', 'eviction', 'p']);
  });
  it('a namespace is its own namespace; a name field selector names the object of a list', () => {
    assert.deepEqual(at('GET', '/api/v1/namespaces/ns1'), [true, 'get', '', 'ns1', 'namespaces', '', 'ns1']);
    assert.deepEqual(at('PUT', '/api/v1/namespaces/ns1/finalize'), [true, 'update', '', 'ns1', 'namespaces', 'finalize', 'ns1']);
    assert.deepEqual(at('GET', '/api/v1/namespaces/ns1/configmaps', 'fieldSelector=metadata.name%3Dcfg'), [true, 'list', '', 'ns1', 'configmaps', '', 'cfg']);
  });
  it('discovery and other paths are non-resource requests with the lower-cased method as verb', () => {
    for (const p of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/openapi/v2', '/healthz']) {
      const a = requestAttributes(alice, 'GET', p, q());
      assert.deepEqual([a.resourceRequest, a.verb, a.path], [false, 'get', p]);
    }
  });
});

describe('coverage', () => {
  const owner: Rule[] = [
    { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'list'] },
    { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['*'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['s1'] },
    { nonResourceURLs: ['/logs/*'], verbs: ['get'] },
  ];
  it('what the owner holds is covered, piece by piece', () => {
    assert.deepEqual(uncoveredRules(owner, [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]), []);
    assert.deepEqual(uncoveredRules(owner, [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update', 'get'] }]), []);
    assert.deepEqual(uncoveredRules(owner, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['s1'] }]), []);
    assert.deepEqual(uncoveredRules(owner, [{ nonResourceURLs: ['/logs/a', '/logs/*'], verbs: ['get'] }]), []);
  });
  it('what it does not hold comes back broken down', () => {
    assert.deepEqual(uncoveredRules(owner, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'create'] }]), [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }]);
    // a name-limited grant does not cover the whole resource
    assert.deepEqual(uncoveredRules(owner, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]), [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
    assert.equal(uncoveredRules(owner, [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }]).length, 1);
    assert.equal(uncoveredRules(owner, [{ apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }]).length, 1);
    assert.equal(uncoveredRules(owner, [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]).length, 1);
  });
});

describe('the RBAC authorizer over a store', () => {
  let api: ApiServer;
  let authz: InstalledAuthorization;
  const kinds: Record<string, KindInfo> = {};
  // the user admission sees, as the handler passes it for a request (undefined: a write of the server itself)
  let actingUser: UserInfo | undefined;
  const write = (resource: string, ns: string | undefined, obj: object) => api.registry.create(kinds[resource], ns, obj, { user: actingUser });

  before(async () => {
    const scheme = builtinScheme();
    api = newApiServer({ store: new MemoryStore(), scheme, authenticate: () => undefined, serverAddress: 'x' });
    for (const r of ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']) kinds[r] = scheme.lookup('rbac.authorization.k8s.io', 'v1', r)!;
    kinds.namespaces = scheme.lookup('', 'v1', 'namespaces')!;
    authz = authorizationOf(api)!;
    await authz.ready;
    for (const ns of ['default', 'team']) await api.registry.create(kinds.namespaces, undefined, { metadata: { name: ns } });
  });
  after(() => {
    authz.aggregator?.stop();
    authz.cache.stop();
  });

  it('creates the default policy with the bootstrapping label, view aggregating its parts', async () => {
    for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:discovery', 'system:public-info-viewer', 'system:timonel-controllers']) {
      const role = authz.cache.clusterRoles.get(name);
      assert.ok(role, name);
      assert.equal(role.metadata?.labels?.['kubernetes.io/bootstrapping'], 'rbac-defaults');
    }
    const view = authz.cache.clusterRoles.get('view')!;
    assert.ok(view.rules?.some((r) => r.resources?.includes('pods') && r.verbs.includes('list')));
    assert.ok(!view.rules?.some((r) => r.resources?.includes('secrets')), 'view does not read secrets');
    const admin = authz.cache.clusterRoles.get('admin')!;
    assert.ok(admin.rules?.some((r) => r.resources?.includes('rolebindings')), 'admin aggregates system:aggregate-to-admin');
    assert.ok(admin.rules?.some((r) => r.resources?.includes('secrets') && r.verbs.includes('create')), 'admin aggregates edit');
    assert.ok(admin.rules?.some((r) => r.resources?.includes('pods') && r.verbs.includes('watch')), 'admin aggregates view through edit');
    assert.ok(authz.cache.clusterRoleBindings.get('cluster-admin')?.subjects?.some((s) => s.kind === 'Group' && s.name === 'system:masters'));
  });

  it('allows what bindings grant, names the binding, and says which roles are missing', async () => {
    const a = authz.authorizer;
    assert.equal(a.authorize(attrs('list', 'pods')).allowed, false);
    await write('rolebindings', 'team', {
      metadata: { name: 'devs-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'Group', name: 'devs' }],
    });
    const d = a.authorize(attrs('create', 'deployments', { apiGroup: 'apps', namespace: 'team' }));
    assert.deepEqual(d, { allowed: true, reason: 'RBAC: allowed by RoleBinding "devs-edit/team" of ClusterRole "edit" to Group "devs"' });
    assert.equal(a.authorize(attrs('create', 'deployments', { apiGroup: 'apps', namespace: 'default' })).allowed, false);
    assert.equal(a.authorize(attrs('create', 'deployments', { apiGroup: 'apps', namespace: '' })).allowed, false);
    assert.equal(a.authorize(attrs('create', 'selfsubjectaccessreviews', { apiGroup: 'authorization.k8s.io', namespace: '' })).allowed, true);
    assert.equal(a.authorize(nonResource('get', '/apis/apps/v1')).allowed, true);

    await write('rolebindings', 'default', { metadata: { name: 'ghost' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'nope' }, subjects: [{ kind: 'User', name: 'alice' }] });
    assert.deepEqual(a.authorize(attrs('get', 'pods')), { allowed: false, reason: 'RBAC: role.rbac.authorization.k8s.io "nope" not found' });
    await write('roles', 'default', { metadata: { name: 'nope' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
    assert.equal(a.authorize(attrs('get', 'pods')).allowed, true);
    await api.registry.delete(kinds.roles, 'default', 'nope');
    assert.equal(a.authorize(attrs('get', 'pods')).allowed, false, 'the cache follows deletes');

    const sa: UserInfo = { username: 'system:serviceaccount:team:robot', groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'] };
    await write('rolebindings', 'team', { metadata: { name: 'robot' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'robot' }] });
    assert.equal(a.authorize({ ...attrs('list', 'pods', { namespace: 'team' }), user: sa }).allowed, true);
    assert.equal(a.authorize({ ...attrs('list', 'pods', { namespace: 'default' }), user: sa }).allowed, false);
    assert.equal(a.authorize({ ...attrs('delete', 'nodes', { namespace: '' }), user: { username: 'root', groups: ['system:masters'] } }).allowed, true);
  });

  it('a ClusterRole labelled aggregate-to-view adds its rules to view, edit and admin, and leaves when unlabelled', async () => {
    await write('clusterroles', undefined, {
      metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list'] }],
    });
    const hasWidgets = (name: string) => !!authz.cache.clusterRoles.get(name)?.rules?.some((r) => r.resources?.includes('widgets'));
    await authz.aggregator!.sync();
    assert.equal(hasWidgets('view'), true);
    assert.equal(hasWidgets('edit'), true);
    assert.equal(hasWidgets('admin'), true);
    await api.registry.guaranteedUpdate(kinds.clusterroles, undefined, 'widgets-view', (cur) => ({ ...cur!, metadata: { ...cur!.metadata, labels: {} } }));
    await authz.aggregator!.sync();
    assert.equal(hasWidgets('view'), false);
    assert.equal(hasWidgets('admin'), false);
  });

  it('escalation: roles and bindings only with rules the user holds, or with escalate / bind', async () => {
    // alice edits in team (from the earlier test)
    const asAlice = <T>(fn: () => Promise<T>) => {
      actingUser = alice;
      try {
        return fn();
      } finally {
        actingUser = undefined;
      }
    };
    const refused = async (p: Promise<unknown>, pattern: RegExp) => {
      await assert.rejects(p, (e: unknown) => isStatusError(e) && e.code === 403 && pattern.test(e.message));
    };
    await asAlice(() => write('roles', 'team', { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] }));
    await refused(
      asAlice(() => write('roles', 'team', { metadata: { name: 'node-admin' }, rules: [{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['delete', 'get'] }] })),
      /^roles\.rbac\.authorization\.k8s\.io "node-admin" is forbidden: user "alice" \(groups=\["devs" "system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["nodes"\], Verbs:\["delete" "get"\]\}$/,
    );
    await refused(
      asAlice(() => write('rolebindings', 'team', { metadata: { name: 'me-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'alice' }] })),
      /is attempting to grant RBAC permissions not currently held/,
    );
    await refused(asAlice(() => write('rolebindings', 'default', { metadata: { name: 'v' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'bob' }] })), /not currently held/);
    // binding edit within team: alice holds all of it there
    await asAlice(() => write('rolebindings', 'team', { metadata: { name: 'bob-edit' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'User', name: 'bob' }] }));
    // with `bind` on cluster-admin, alice may bind it without holding it; `escalate` likewise for roles
    await write('clusterroles', undefined, { metadata: { name: 'delegate' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind', 'escalate'] }] });
    await write('clusterrolebindings', undefined, { metadata: { name: 'alice-delegate' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'delegate' }, subjects: [{ kind: 'User', name: 'alice' }] });
    await asAlice(() => write('rolebindings', 'team', { metadata: { name: 'carol-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'carol' }] }));
    await asAlice(() => write('clusterroles', undefined, { metadata: { name: 'big' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }));
    // the server's own writes (no request user) are not checked
    await write('roles', 'team', { metadata: { name: 'anything' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] });
  });
});

describe('403 Forbidden', () => {
  it('names the verb, resource, group, namespace and user as upstream does', () => {
    const e = forbidden(attrs('list', 'pods'), '');
    assert.equal(e.code, 403);
    assert.equal(e.message, 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
    assert.equal(
      forbidden(attrs('get', 'deployments', { apiGroup: 'apps', subresource: 'scale', name: 'web', namespace: '' }), '').message,
      'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments/scale" in API group "apps" at the cluster scope',
    );
    assert.equal(forbidden(nonResource('get', '/metrics'), '').message, 'forbidden: User "alice" cannot get path "/metrics"');
  });
});
