// DefaultTolerationSeconds admission through the real API: created pods get 300 s tolerations for
// the not-ready and unreachable NoExecute taints unless they already tolerate them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { defaultTolerationSeconds } from '../../src/apiserver/admission/default-tolerations.js';
import { RestClient, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const NOT_READY: Toleration = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };
const UNREACHABLE: Toleration = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };

describe('DefaultTolerationSeconds admission', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let pods: ResourceClient<Pod>;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    cluster.api.registry.admission.push(defaultTolerationSeconds());
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    pods = new RestClient(transport).resource<Pod>(RESOURCES.pods, 'default');
  });
  after(async () => {
    transport?.close();
    await cluster?.close();
  });

  const create = (name: string, tolerations?: Toleration[]) =>
    pods.create({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) } });

  it('adds both tolerations with 300 s to a pod without any', async () => {
    const p = await create('plain');
    assert.deepEqual(p.spec?.tolerations, [NOT_READY, UNREACHABLE]);
    assert.deepEqual((await pods.get('plain')).spec?.tolerations, [NOT_READY, UNREACHABLE]);
  });

  it('keeps a toleration the pod has and adds only the missing one', async () => {
    const own: Toleration = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 };
    const other: Toleration = { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' };
    const p = await create('own', [other, own]);
    assert.deepEqual(p.spec?.tolerations, [other, own, NOT_READY]);
  });

  it('adds nothing when a toleration with an empty key and effect covers both', async () => {
    const p = await create('all', [{ operator: 'Exists' }]);
    assert.deepEqual(p.spec?.tolerations, [{ operator: 'Exists' }]);
  });

  it('leaves pod updates and status writes alone', async () => {
    const p = await create('later', [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }]);
    assert.equal(p.spec?.tolerations?.length, 2);
    const s = await pods.updateStatus({ ...p, status: { phase: 'Pending' } });
    assert.deepEqual(s.spec?.tolerations, p.spec?.tolerations);
    const u = await pods.patch('later', 'merge', { metadata: { labels: { a: 'b' } } });
    assert.deepEqual(u.spec?.tolerations, p.spec?.tolerations);
  });
});
