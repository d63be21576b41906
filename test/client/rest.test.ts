import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { ClientStatusError, isAlreadyExists, isConflict, isNotFound, RestClient, type ResourceRef, type WatchEvent } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, kubeconfigTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

describe('RestClient', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let rest: RestClient;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory' });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    rest = new RestClient(transport);
    await rest.resource<Namespace>(NAMESPACES).create({ metadata: { name: 'rest' } });
  });
  after(async () => {
    transport?.close();
    await cluster?.close();
  });

  it('creates, reads, lists, updates, patches and deletes', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'rest');
    const created = await cms.create({ metadata: { name: 'one', labels: { app: 'x' } }, data: { a: '1' } });
    assert.equal(created.metadata?.namespace, 'rest');
    assert.ok(created.metadata?.resourceVersion);
    assert.equal(created.kind, 'ConfigMap');

    const got = await cms.get('one');
    assert.deepEqual(got.data, { a: '1' });

    const updated = await cms.update({ ...got, data: { a: '2' } });
    assert.equal(updated.data?.a, '2');
    assert.notEqual(updated.metadata?.resourceVersion, got.metadata?.resourceVersion);

    // a stale resourceVersion is a conflict, carrying the server's Status
    await assert.rejects(cms.update({ ...got, data: { a: '3' } }), (e: unknown) => {
      assert.ok(e instanceof ClientStatusError);
      assert.equal(e.code, 409);
      assert.equal(e.reason, 'Conflict');
      assert.ok(isConflict(e));
      assert.match(e.message, /the object has been modified/);
      return true;
    });

    const merged = await cms.patch('one', 'merge', { data: { b: 'B' } });
    assert.deepEqual(merged.data, { a: '2', b: 'B' });
    const jsonPatched = await cms.patch('one', 'json', [{ op: 'remove', path: '/data/a' }]);
    assert.deepEqual(jsonPatched.data, { b: 'B' });

    await cms.create({ metadata: { name: 'two', labels: { app: 'y' } } });
    const all = await cms.list();
    assert.equal(all.kind, 'ConfigMapList');
    assert.deepEqual(all.items.map((c) => c.metadata?.name).sort(), ['one', 'two']);
    const selected = await cms.list({ labelSelector: 'app=y' });
    assert.deepEqual(selected.items.map((c) => c.metadata?.name), ['two']);
    const everywhere = await rest.resource<ConfigMap>(CONFIGMAPS).list({ fieldSelector: 'metadata.namespace=rest' });
    assert.equal(everywhere.items.length, 2);

    const paged = await cms.list({ limit: 1 });
    assert.equal(paged.items.length, 1);
    assert.ok(paged.metadata.continue);
    const allPages = await cms.listAll({ limit: 1 });
    assert.equal(allPages.items.length, 2);

    const del = (await cms.delete('one')) as Status;
    assert.equal(del.kind, 'Status');
    assert.equal(del.status, 'Success');
    await assert.rejects(cms.get('one'), (e: unknown) => isNotFound(e) && (e as ClientStatusError).reason === 'NotFound');

    await cms.deleteCollection({ labelSelector: 'app=y' });
    assert.equal((await cms.list()).items.length, 0);
  });

  it('reports AlreadyExists and Invalid with the server Status', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'rest');
    await cms.create({ metadata: { name: 'dup' } });
    await assert.rejects(cms.create({ metadata: { name: 'dup' } }), (e: unknown) => isAlreadyExists(e) && !isConflict(e));
    await assert.rejects(cms.create({ metadata: { name: 'Not_Valid' } }), (e: unknown) => {
      assert.ok(e instanceof ClientStatusError);
      assert.equal(e.code, 422);
      assert.equal(e.reason, 'Invalid');
      assert.ok((e.status.details?.causes ?? []).length > 0);
      return true;
    });
  });

  it('patchOnly applies the patch without handing back the object, and still reports failures', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'rest');
    await cms.create({ metadata: { name: 'quiet' }, data: { a: '1' } });
    assert.equal(await cms.patchOnly('quiet', 'merge', { data: { a: '2' } }), undefined);
    assert.equal((await cms.get('quiet')).data?.a, '2');
    await assert.rejects(cms.patchOnly('missing', 'merge', { data: { a: '2' } }), (e: unknown) => e instanceof ClientStatusError && e.code === 404);
    await assert.rejects(cms.patchOnly('quiet', 'merge', '{not json'), (e: unknown) => e instanceof ClientStatusError && e.code === 400);
  });

  it('updates a status subresource', async () => {
    const nss = rest.resource<Namespace>(NAMESPACES);
    await nss.create({ metadata: { name: 'status-test' } });
    const ns = await nss.get('status-test');
    const out = await nss.updateStatus({ ...ns, status: { ...ns.status, conditions: [{ type: 'Example', status: 'True' }] } });
    assert.deepEqual(out.status?.conditions?.map((c) => c.type), ['Example']);
    // a write to the main resource leaves status alone
    const again = await nss.update({ ...out, status: { phase: 'Terminating' }, metadata: { ...out.metadata, labels: { x: 'y' } } });
    assert.equal(again.status?.phase, 'Active');
    assert.equal(again.metadata?.labels?.x, 'y');
  });

  it('watches from a resourceVersion', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'rest');
    const start = await cms.list();
    const w = await cms.watch({ resourceVersion: start.metadata.resourceVersion, allowWatchBookmarks: true });
    const seen: WatchEvent<ConfigMap>[] = [];
    const reading = (async () => {
      for await (const ev of w.events) {
        seen.push(ev);
        if (ev.type === 'DELETED') w.close();
      }
    })();
    await cms.create({ metadata: { name: 'watched' }, data: { v: '1' } });
    await cms.patch('watched', 'merge', { data: { v: '2' } });
    await cms.delete('watched');
    await reading;
    assert.deepEqual(
      seen.map((e) => [e.type, (e.object as ConfigMap).metadata?.name]),
      [
        ['ADDED', 'watched'],
        ['MODIFIED', 'watched'],
        ['DELETED', 'watched'],
      ],
    );
    assert.equal((seen[1].object as ConfigMap).data?.v, '2');
  });

  it('turns a refused watch into ClientStatusError, or an ERROR event once the stream started', async () => {
    const missing: ResourceRef = { group: '', version: 'v1', resource: 'nosuchthings', namespaced: true };
    await assert.rejects(rest.resource(missing, 'rest').watch(), (e: unknown) => e instanceof ClientStatusError && e.code === 404 && isNotFound(e));
    let code: number | undefined;
    try {
      const w = await rest.resource(CONFIGMAPS, 'rest').watch({ labelSelector: '!!!' });
      for await (const ev of w.events) {
        if (ev.type === 'ERROR') code = ev.object.code;
        break;
      }
      w.close();
    } catch (e) {
      code = (e as ClientStatusError).code;
    }
    assert.equal(code, 400);
  });

  it('discovers namespaced resources with their verbs', async () => {
    const found = await rest.serverResources({ preferredOnly: true });
    assert.equal(found.failed.size, 0);
    const cm = found.resources.find((r) => r.group === '' && r.resource === 'configmaps');
    assert.ok(cm);
    assert.equal(cm.namespaced, true);
    assert.equal(cm.kind, 'ConfigMap');
    assert.ok(cm.verbs.includes('deletecollection'));
    const ns = found.resources.find((r) => r.resource === 'namespaces');
    assert.equal(ns?.namespaced, false);
    assert.ok(!found.resources.some((r) => r.resource.includes('/')), 'no subresources');
    assert.ok(found.resources.some((r) => r.group !== ''), 'named groups too');
  });

  it('works the same over the kubeconfig transport', async () => {
    const t = kubeconfigTransport(cluster.kubeconfigPath);
    try {
      const remote = new RestClient(t);
      const cm = await remote.resource<ConfigMap>(CONFIGMAPS, 'rest').create({ metadata: { name: 'remote' }, data: { k: 'v' } });
      assert.equal(cm.metadata?.namespace, 'rest');
      const viaInProcess = await rest.resource<ConfigMap>(CONFIGMAPS, 'rest').get('remote');
      assert.equal(viaInProcess.metadata?.uid, cm.metadata?.uid);
    } finally {
      t.close();
    }
  });
});
