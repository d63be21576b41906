// ResourceQuota admission and the quota controller through the real API: status.hard/used kept by the
// controller, creates over quota refused with upstream's message, charges atomic under concurrency,
// dry runs not charged, deletions and terminal pods given back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Pod, ResourceQuota } from 'kubernetes-types/core/v1.js';
import { ClientStatusError, RestClient, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { RESOURCE_QUOTAS, resourceQuotaController } from '../../src/controllers/resourcequota/controller.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('ResourceQuota admission and controller', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let ctlTransport: Transport;
  let manager: ControllerManager;
  let pods: ResourceClient<Pod>;
  let quotas: ResourceClient<ResourceQuota>;
  let configmaps: ResourceClient<ConfigMap>;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    // the API server registers these admission plugins itself (src/apiserver/server.ts)
    for (const name of ['LimitRanger', 'ResourceQuota', 'PodSecurity']) assert.ok(cluster.api.registry.admission.some((a) => a.name === name), name);
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    ctlTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:resourcequota-controller', groups: ['system:masters'] });
    manager = new ControllerManager(ctlTransport, [resourceQuotaController], { log: () => {} });
    await manager.start();
    const client = new RestClient(transport);
    pods = client.resource<Pod>(RESOURCES.pods, 'default');
    quotas = client.resource<ResourceQuota>(RESOURCE_QUOTAS, 'default');
    configmaps = client.resource<ConfigMap>(RESOURCES.configmaps, 'default');
  });
  after(async () => {
    await manager?.stop();
    ctlTransport?.close();
    transport?.close();
    await cluster?.close();
  });

  const pod = (name: string, cpu?: string): Pod => ({
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox', ...(cpu ? { resources: { requests: { cpu, memory: '64Mi' }, limits: { cpu, memory: '64Mi' } } } : {}) }] },
  });
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (err: unknown) => err);
    assert.ok(e instanceof ClientStatusError, 'expected a refusal');
    assert.equal(e.status.code, 403);
    return e.status.message ?? '';
  };
  const used = async (name: string) => (await quotas.get(name)).status?.used;

  it('has the controller publish hard and used', async () => {
    await pods.create(pod('before', '100m'));
    await quotas.create({ metadata: { name: 'compute' }, spec: { hard: { pods: '2', 'requests.cpu': '1', 'count/configmaps': '2' } } });
    const status = await until('quota status', async () => {
      const s = (await quotas.get('compute')).status;
      return s?.used ? s : undefined;
    });
    assert.deepEqual(status.hard, { pods: '2', 'requests.cpu': '1', 'count/configmaps': '2' });
    // kube-root-ca.crt is not published in this cluster: no config maps yet
    assert.deepEqual(status.used, { 'count/configmaps': '0', pods: '1', 'requests.cpu': '100m' });
  });

  it('charges an admitted create at once and refuses one over quota', async () => {
    await pods.create(pod('second', '200m'));
    assert.deepEqual(await used('compute'), { 'count/configmaps': '0', pods: '2', 'requests.cpu': '300m' });
    assert.equal(await refusal(pods.create(pod('third', '100m'))), 'pods "third" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2');
  });

  it('requires requests for tracked compute', async () => {
    assert.equal(await refusal(pods.create(pod('bare'))), 'pods "bare" is forbidden: failed quota: compute: must specify requests.cpu for: c');
  });

  it('gives back deleted and terminal pods through the controller', async () => {
    await pods.delete('second');
    await until('release after delete', async () => ((await used('compute'))?.pods === '1' ? true : undefined));
    assert.equal((await used('compute'))?.['requests.cpu'], '100m');
    const p = await pods.get('before');
    await pods.updateStatus({ ...p, status: { ...p.status, phase: 'Succeeded' } });
    await until('release after Succeeded', async () => ((await used('compute'))?.pods === '0' ? true : undefined));
  });

  it('does not charge a dry run, and charges concurrent creates atomically', async () => {
    await configmaps.create({ metadata: { name: 'dry' } }, { dryRun: true });
    assert.equal((await used('compute'))?.['count/configmaps'], '0');
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => configmaps.create({ metadata: { name: `cm${i}` } })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    assert.equal((await used('compute'))?.['count/configmaps'], '2');
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as ClientStatusError;
    assert.match(refused.status.message ?? '', /^configmaps "cm\d" is forbidden: exceeded quota: compute, requested: count\/configmaps=1, used: count\/configmaps=2, limited: count\/configmaps=2$/);
  });
});
