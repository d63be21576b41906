// The Node authorizer through the API: a node reads only what the pods bound to it use.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../src/api/types.js';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import { authorizationOf } from '../../src/apiserver/authz/index.js';
import { NodeAuthorizer, NodeGraph, nodeIdentity, podReferences } from '../../src/apiserver/authz/node.js';
import type { Attributes } from '../../src/apiserver/authz/rules.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import type { UserInfo } from '../../src/apiserver/registry.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport } from '../../src/client/transport.js';
import { MemoryStore } from '../../src/storage/memory.js';

const node1: UserInfo = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

describe('node identity', () => {
  it('is system:node:<name> in system:nodes', () => {
    assert.deepEqual(nodeIdentity(node1), { isNode: true, nodeName: 'n1' });
    assert.deepEqual(nodeIdentity({ username: 'system:node:n1', groups: [] }), { isNode: false, nodeName: '' });
    assert.deepEqual(nodeIdentity({ username: 'alice', groups: ['system:nodes'] }), { isNode: false, nodeName: '' });
  });

  it('collects the objects a pod references', () => {
    const pod: Pod = {
      metadata: { namespace: 'app', name: 'p' },
      spec: {
        serviceAccountName: 'robot',
        imagePullSecrets: [{ name: 'pull' }],
        containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm-env', key: 'k' } } }], envFrom: [{ secretRef: { name: 'sec-env' } }] }],
        volumes: [
          { name: 'v', projected: { sources: [{ secret: { name: 'proj' } }, { configMap: { name: 'cm-proj' } }] } },
          { name: 'data', persistentVolumeClaim: { claimName: 'claim' } },
          { name: 'scratch', ephemeral: {} },
        ],
      },
    };
    assert.deepEqual(podReferences(pod).sort(), [
      'configmap/app/cm-env',
      'configmap/app/cm-proj',
      'pod/app/p',
      'pvc/app/claim',
      'pvc/app/p-scratch',
      'secret/app/proj',
      'secret/app/pull',
      'secret/app/sec-env',
      'serviceaccount/app/robot',
    ]);
  });
});

describe('Node authorizer decisions', () => {
  const store = new MemoryStore();
  const graph = new NodeGraph(store);
  const authz = new NodeAuthorizer(graph);
  const at = (verb: string, resource: string, o: Partial<Attributes> = {}): Attributes => ({
    user: node1,
    verb,
    resourceRequest: true,
    path: '',
    namespace: 'app',
    apiGroup: '',
    apiVersion: 'v1',
    resource,
    subresource: '',
    name: '',
    ...o,
  });
  before(async () => {
    await graph.start();
    const pod: Pod = { metadata: { namespace: 'app', name: 'p1' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }], volumes: [{ name: 's', secret: { secretName: 's1' } }] } };
    await store.create('/core/pods/app/p1', pod);
  });
  after(() => graph.stop());

  it('grants only related objects, with upstream reasons', () => {
    assert.equal(authz.authorize(at('get', 'secrets', { name: 's1' })).allowed, true);
    assert.equal(authz.authorize(at('watch', 'secrets', { name: 's1' })).allowed, true);
    assert.deepEqual(authz.authorize(at('get', 'secrets', { name: 's2' })), { allowed: false, reason: "no relationship found between node 'n1' and this object" });
    assert.deepEqual(authz.authorize(at('list', 'secrets')), { allowed: false, reason: 'No Object name found' });
    assert.deepEqual(authz.authorize(at('update', 'secrets', { name: 's1' })), { allowed: false, reason: 'can only read resources of this type' });
    assert.deepEqual(authz.authorize(at('list', 'persistentvolumeclaims')), { allowed: false, reason: 'can only get individual resources of this type' });
    assert.equal(authz.authorize(at('get', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n1' })).allowed, true);
    assert.deepEqual(authz.authorize(at('update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n2' })), {
      allowed: false,
      reason: 'can only access node lease with the same name as the requesting node',
    });
    assert.equal(authz.authorize(at('patch', 'pods', { subresource: 'status', name: 'p1' })).allowed, true);
    assert.equal(authz.authorize(at('create', 'events')).allowed, true);
    assert.equal(authz.authorize(at('create', 'deployments', { apiGroup: 'apps' })).allowed, false);
    assert.equal(authz.authorize({ ...at('get', 'secrets', { name: 's1' }), user: { username: 'alice', groups: [] } }).allowed, false);
  });

  it('follows pods: a deleted or rebound pod takes its objects with it', async () => {
    await store.delete('/core/pods/app/p1');
    assert.equal(authz.authorize(at('get', 'secrets', { name: 's1' })).allowed, false);
  });
});

describe('Node authorizer in the API server', () => {
  let api: ApiServer;
  let admin: RestClient;
  let n1: RestClient;
  let alice: RestClient;
  const mk = (ns: string, resource: keyof typeof RESOURCES, c = admin) => c.resource(RESOURCES[resource], ns);

  before(async () => {
    api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'x', serviceAccountAdmission: { requireServiceAccount: false } });
    await authorizationOf(api)!.ready;
    const acceptor = inProcessAcceptor(api.handle);
    admin = new RestClient(inProcessTransport(acceptor, { username: 'admin', groups: ['system:masters'] }));
    n1 = new RestClient(inProcessTransport(acceptor, { username: 'system:node:n1', groups: ['system:nodes'] }));
    alice = new RestClient(inProcessTransport(acceptor, { username: 'alice', groups: [] }));
    for (const name of ['app', 'kube-node-lease']) await mk('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    for (const name of ['n1', 'n2']) await mk('', 'nodes').create({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
    for (const name of ['s1', 's2']) await mk('app', 'secrets').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { k: name } });
    await mk('app', 'configmaps').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { k: 'v' } });
    await mk('app', 'serviceaccounts').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } });
    const pod = (name: string, node: string, secret: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: node, serviceAccountName: 'robot', containers: [{ name: 'c', image: 'x', envFrom: [{ configMapRef: { name: 'c1' } }] }], volumes: [{ name: 's', secret: { secretName: secret } }] },
    });
    await mk('app', 'pods').create(pod('p1', 'n1', 's1'));
    await mk('app', 'pods').create(pod('p2', 'n2', 's2'));
  });

  it('lets a node read the secrets and configmaps of its own pods only', async () => {
    assert.equal((await mk('app', 'secrets', n1).get('s1')).metadata?.name, 's1');
    assert.equal((await mk('app', 'configmaps', n1).get('c1')).metadata?.name, 'c1');
    await assert.rejects(mk('app', 'secrets', n1).get('s2'), {
      code: 403,
      message: `secrets "s2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "app": no relationship found between node 'n1' and this object`,
    });
    await assert.rejects(mk('app', 'secrets', n1).list(), { code: 403 });
    await assert.rejects(mk('app', 'secrets', alice).get('s1'), { code: 403 });
  });

  it('lets a node create tokens only for service accounts of its pods', async () => {
    const tr = await mk('app', 'serviceaccounts', n1).createSubresource<{ status?: { token?: string } }>('robot', 'token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: ['x'] },
    });
    assert.ok(tr.status?.token);
    await assert.rejects(mk('app', 'serviceaccounts', n1).createSubresource('default', 'token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }), { code: 403 });
  });

  it('keeps leases to the node’s own', async () => {
    const leases = mk('kube-node-lease', 'leases', n1);
    await leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1' }, spec: { holderIdentity: 'n1' } });
    await assert.rejects(leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n2' }, spec: {} }), {
      code: 403,
      message: /can only access node lease with the same name as the requesting node/,
    });
    await assert.rejects(leases.get('n2'), { code: 403 });
  });

  it('reports that node rules cannot be listed (SelfSubjectRulesReview)', async () => {
    const r = await n1.call<{ status: { incomplete: boolean; evaluationError?: string } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: 'app' },
    });
    assert.equal(r.status.incomplete, true);
    assert.match(r.status.evaluationError ?? '', /node authorizer does not support user rule resolution/);
  });
});
