import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES, SharedInformers } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

describe('SharedInformers', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let informers: SharedInformers;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory' });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    informers = new SharedInformers(transport);
  });
  after(async () => {
    await informers?.stop();
    transport?.close();
    await cluster?.close();
  });

  it('caches objects without managedFields, and writing one back keeps the stored ones', async () => {
    const rest = new RestClient(transport, { fieldManager: 'creator' });
    const cms = rest.resource<ConfigMap>(RESOURCES.configmaps, 'default');
    const created = await cms.create({ metadata: { name: 'shared-cm' }, data: { a: '1' } });
    assert.equal(created.metadata?.managedFields?.[0]?.manager, 'creator');
    const inf = informers.informer<ConfigMap>(RESOURCES.configmaps);
    informers.start();
    await informers.waitForSync();
    const cached = inf.getByName('default', 'shared-cm');
    assert.equal(cached?.data?.a, '1');
    assert.equal(cached?.metadata?.managedFields, undefined);
    // a controller updating from its cache
    const updater = new RestClient(transport, { fieldManager: 'controller' }).resource<ConfigMap>(RESOURCES.configmaps, 'default');
    const updated = await updater.update({ ...cached!, data: { a: '2' } });
    assert.deepEqual(
      updated.metadata?.managedFields?.map((e) => e.manager).sort(),
      ['controller', 'creator'],
    );
    assert.equal(updated.data?.a, '2');
  });
});
