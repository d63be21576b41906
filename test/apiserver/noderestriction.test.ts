// NodeRestriction admission: a node modifies only its own Node (within the label and taint limits), only
// pods bound to it, and creates only mirror pods.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { builtinScheme } from '../../src/api/kinds/index.js';
import type { KubeObject } from '../../src/api/types.js';
import { forbiddenNodeLabels, isKubeletLabel } from '../../src/apiserver/admission/noderestriction.js';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import { authorizationOf } from '../../src/apiserver/authz/index.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport } from '../../src/client/transport.js';
import { MemoryStore } from '../../src/storage/memory.js';

describe('node label policy', () => {
  it('allows kubelet labels and refuses node-restriction and other kubernetes.io labels', () => {
    assert.equal(isKubeletLabel('kubernetes.io/hostname'), true);
    assert.equal(isKubeletLabel('node.kubernetes.io/instance-type'), true);
    assert.equal(isKubeletLabel('foo.kubelet.kubernetes.io/x'), true);
    assert.equal(isKubeletLabel('node-role.kubernetes.io/control-plane'), false);
    assert.deepEqual(forbiddenNodeLabels({ team: 'a', 'kubernetes.io/os': 'linux' }, undefined), []);
    assert.deepEqual(forbiddenNodeLabels({ 'node-restriction.kubernetes.io/pool': 'a', 'node-role.kubernetes.io/worker': '' }, undefined), [
      'node-restriction.kubernetes.io/pool',
      'node-role.kubernetes.io/worker',
    ]);
    // removing one counts as modifying it
    assert.deepEqual(forbiddenNodeLabels({}, { 'example.k8s.io/x': '1' }), ['example.k8s.io/x']);
  });
});

describe('NodeRestriction admission', () => {
  let api: ApiServer;
  let admin: RestClient;
  let n1: RestClient;
  let masterNode: RestClient;
  const mk = (ns: string, resource: keyof typeof RESOURCES, c = admin) => c.resource(RESOURCES[resource], ns);
  let n1Uid = '';

  before(async () => {
    api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'x', serviceAccountAdmission: { requireServiceAccount: false } });
    await authorizationOf(api)!.ready;
    const acceptor = inProcessAcceptor(api.handle);
    admin = new RestClient(inProcessTransport(acceptor, { username: 'admin', groups: ['system:masters'] }));
    n1 = new RestClient(inProcessTransport(acceptor, { username: 'system:node:n1', groups: ['system:nodes'] }));
    masterNode = new RestClient(inProcessTransport(acceptor, { username: 'system:node:n1', groups: ['system:nodes', 'system:masters'] }));
    await mk('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
    await mk('', 'nodes').create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } });
    const pod = (name: string, node: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] } });
    await mk('app', 'pods').create(pod('on-n1', 'n1'));
    await mk('app', 'pods').create(pod('on-n1-b', 'n1'));
    await mk('app', 'pods').create(pod('on-n2', 'n2'));
  });
  after(() => api.closeWatches());

  it('registers only itself, without restricted labels', async () => {
    await assert.rejects(mk('', 'nodes', n1).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n3' } }), {
      code: 403,
      message: 'nodes "n3" is forbidden: node "n1" is not allowed to modify node "n3"',
    });
    await assert.rejects(mk('', 'nodes', n1).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'node-role.kubernetes.io/control-plane': '' } } }), {
      code: 403,
      message: 'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-role.kubernetes.io/control-plane',
    });
    const created = await mk('', 'nodes', n1).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1', team: 'blue' } } });
    n1Uid = created.metadata?.uid ?? '';
    assert.ok(n1Uid);
  });

  it('modifies only its own Node, not its taints nor restricted labels', async () => {
    const nodes = mk('', 'nodes', n1);
    await nodes.patch('n1', 'merge', { metadata: { labels: { team: 'green' } } });
    await assert.rejects(nodes.patch('n1', 'merge', { metadata: { labels: { 'node-restriction.kubernetes.io/pool': 'gpu' } } }), {
      code: 403,
      message: 'nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pool',
    });
    await assert.rejects(nodes.patch('n1', 'merge', { spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } }), { code: 403, message: /node "n1" is not allowed to modify taints/ });
    await assert.rejects(nodes.patch('n2', 'merge', { metadata: { labels: { team: 'red' } } }), { code: 403, message: /node "n1" is not allowed to modify node "n2"/ });
    const n1Node = (await nodes.get('n1')) as Node;
    await nodes.updateStatus({ ...n1Node, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    await assert.rejects(nodes.updateStatus({ ...((await mk('', 'nodes').get('n2')) as Node), status: { phase: 'Running' } }), { code: 403 });
    // a node identity in system:masters is not restricted
    await mk('', 'nodes', masterNode).patch('n2', 'merge', { metadata: { labels: { team: 'red' } } });
  });

  it('creates only mirror pods bound to itself that reference nothing else', async () => {
    const pods = mk('app', 'pods', n1);
    const mirror = (extra: Partial<Pod['spec']> = {}, ownerUid = n1Uid): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `static-${Math.random().toString(36).slice(2, 8)}`,
        annotations: { 'kubernetes.io/config.mirror': 'hash' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: ownerUid, controller: true }],
      },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], ...extra },
    });
    await assert.rejects(pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } }), {
      code: 403,
      message: 'pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
    });
    await assert.rejects(pods.create(mirror({ nodeName: 'n2' })), { code: 403, message: /node "n1" can only create pods with spec.nodeName set to itself/ });
    await assert.rejects(pods.create(mirror({}, 'not-the-uid')), { code: 403, message: /UID mismatch/ });
    await assert.rejects(pods.create(mirror({ volumes: [{ name: 's', secret: { secretName: 'x' } }] })), { code: 403, message: /can not create pods that reference secrets/ });
    const ok = await pods.create(mirror());
    assert.equal(ok.metadata?.annotations?.['kubernetes.io/config.mirror'], 'hash');
  });

  it('updates the status of and deletes only pods bound to itself', async () => {
    const pods = mk('app', 'pods', n1);
    const mine = (await pods.get('on-n1')) as Pod;
    await pods.updateStatus({ ...mine, status: { phase: 'Running' } });
    const theirs = (await pods.get('on-n2')) as Pod;
    await assert.rejects(pods.updateStatus({ ...theirs, status: { phase: 'Running' } }), {
      code: 403,
      message: /node "n1" can only update pod status for pods with spec.nodeName set to itself/,
    });
    await assert.rejects(pods.update({ ...mine, metadata: { ...mine.metadata, labels: { x: 'y' } } }), { code: 403 });
    await assert.rejects(pods.delete('on-n2'), { code: 403, message: /node "n1" can only delete pods with spec.nodeName set to itself/ });
    await pods.delete('on-n1-b');
    // a bound pod is deleted gracefully: marked, then removed by its node
    assert.ok((await mk('app', 'pods').get('on-n1-b')).metadata?.deletionTimestamp);
  });
});
