// LimitRanger admission through the real API: defaults filled in and recorded, min/max/ratio refused
// with upstream's messages, claims checked against storage bounds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LimitRange, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { LIMIT_RANGER_ANNOTATION } from '../../src/apiserver/admission/limitrange.js';
import { ClientStatusError, RestClient, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const LIMIT_RANGES = { group: '', version: 'v1', resource: 'limitranges', namespaced: true };

describe('LimitRanger admission', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let pods: ResourceClient<Pod>;
  let claims: ResourceClient<PersistentVolumeClaim>;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    // the API server registers these admission plugins itself (src/apiserver/server.ts)
    for (const name of ['LimitRanger', 'ResourceQuota', 'PodSecurity']) assert.ok(cluster.api.registry.admission.some((a) => a.name === name), name);
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    const client = new RestClient(transport);
    pods = client.resource<Pod>(RESOURCES.pods, 'default');
    claims = client.resource<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims, 'default');
    await client.resource<LimitRange>(LIMIT_RANGES, 'default').create({
      metadata: { name: 'limits' },
      spec: {
        limits: [
          { type: 'Container', default: { cpu: '500m', memory: '128Mi' }, defaultRequest: { cpu: '250m' }, max: { cpu: '1' }, min: { cpu: '100m' }, maxLimitRequestRatio: { cpu: '4' } },
          { type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '5Gi' } },
        ],
      },
    });
  });
  after(async () => {
    transport?.close();
    await cluster?.close();
  });

  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (err: unknown) => err);
    assert.ok(e instanceof ClientStatusError, 'expected a refusal');
    assert.equal(e.status.code, 403);
    return e.status.message ?? '';
  };

  it('fills defaults, records them and recomputes the QoS class', async () => {
    const p = await pods.create({ metadata: { name: 'plain' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    assert.deepEqual(p.spec?.containers[0].resources, { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '128Mi' } });
    assert.equal(p.metadata?.annotations?.[LIMIT_RANGER_ANNOTATION], 'LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c');
    assert.equal(p.status?.qosClass, 'Burstable');
    assert.deepEqual((await pods.get('plain')).spec?.containers[0].resources?.requests, { cpu: '250m', memory: '128Mi' });
  });

  it('refuses a limit over the maximum', async () => {
    const msg = await refusal(pods.create({ metadata: { name: 'big' }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '2' } } }] } }));
    assert.equal(msg, 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  });

  it('refuses a request under the minimum and a ratio over the maximum', async () => {
    const msg = await refusal(
      pods.create({ metadata: { name: 'small' }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '50m' }, limits: { cpu: '1' } } }] } }),
    );
    assert.equal(msg, 'pods "small" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, cpu max limit to request ratio per Container is 4, but provided ratio is 20.000000]');
    await assert.rejects(pods.get('small'));
  });

  it('checks claim storage against min and max', async () => {
    const claim = (name: string, storage: string): PersistentVolumeClaim => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
    assert.equal(await refusal(claims.create(claim('huge', '10Gi'))), 'persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi');
    assert.equal(await refusal(claims.create(claim('tiny', '100Mi'))), 'persistentvolumeclaims "tiny" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi');
    assert.equal((await claims.create(claim('fine', '2Gi'))).metadata?.name, 'fine');
  });

  it('leaves namespaces without a LimitRange alone', async () => {
    const client = new RestClient(transport);
    await client.resource(RESOURCES.namespaces).create({ metadata: { name: 'free' } });
    const p = await client.resource<Pod>(RESOURCES.pods, 'free').create({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    assert.deepEqual(p.spec?.containers[0].resources, {});
    assert.equal(p.metadata?.annotations?.[LIMIT_RANGER_ANNOTATION], undefined);
  });
});
